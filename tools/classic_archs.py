"""The classic CNN families of torchvision (AlexNet, SqueezeNet, GoogLeNet, Inception v3) built from a
Graft config dict, for tools/make_zoo_fixtures_classic.py and tools/check_zoo_full_classic.py.

A config dict here is exactly the JSON of the Swift config struct (AlexNetConfig, SqueezeNetConfig,
GoogLeNetConfig, InceptionV3Config in Sources/GraftModels/Configs/), so the Swift tests decode the
manifest's `config` straight into the struct that builds the graph.

The networks are torchvision's own classes: each builder below subclasses torchvision's model and block
classes and replaces only `__init__`, assigning the same attributes in the same order with the widths
of the config; every `forward` (Fire's concatenation, GoogLeNet's and Inception's `_transform_input`,
their blocks' branches and pools, the aux-head switch) is torchvision's code, inherited. With the
`named` config of a torchvision size the result has torchvision's state-dict keys and shapes, which
`check_layout` verifies against the real builder (so the miniatures' kernels, strides, paddings, pools,
eps and dropout are torchvision's too).
"""

import importlib

import torch
from torch import nn

# The modules (torchvision.models.alexnet etc. name the builder functions, so import the modules by path).
tv_alexnet = importlib.import_module("torchvision.models.alexnet")
tv_googlenet = importlib.import_module("torchvision.models.googlenet")
tv_inception = importlib.import_module("torchvision.models.inception")
tv_squeezenet = importlib.import_module("torchvision.models.squeezenet")

# --- torchvision's sizes as Graft configs (the same numbers as the Swift `named` tables) -------------

ALEXNET = {"widths": [64, 192, 384, 256, 256], "hidden": 4096, "poolSize": 6, "dropout": 0.5, "numClasses": 1000}


def _conv(out, kernel, stride):
    return {"conv": {"out": out, "kernel": kernel, "stride": stride}}


def _fire(s, e1, e3):
    return {"fire": {"squeeze": s, "expand1x1": e1, "expand3x3": e3}}


POOL = {"pool": {}}
SQUEEZENET = {
    "squeezenet1_0": {"items": [_conv(96, 7, 2), POOL, _fire(16, 64, 64), _fire(16, 64, 64), _fire(32, 128, 128), POOL,
                                _fire(32, 128, 128), _fire(48, 192, 192), _fire(48, 192, 192), _fire(64, 256, 256), POOL,
                                _fire(64, 256, 256)],
                      "dropout": 0.5, "numClasses": 1000},
    "squeezenet1_1": {"items": [_conv(64, 3, 2), POOL, _fire(16, 64, 64), _fire(16, 64, 64), POOL, _fire(32, 128, 128),
                                _fire(32, 128, 128), POOL, _fire(48, 192, 192), _fire(48, 192, 192), _fire(64, 256, 256),
                                _fire(64, 256, 256)],
                      "dropout": 0.5, "numClasses": 1000},
}


def _inc(c1, r3, c3, r5, c5, pp):
    return {"ch1x1": c1, "ch3x3red": r3, "ch3x3": c3, "ch5x5red": r5, "ch5x5": c5, "poolProj": pp}


GOOGLENET = {
    "conv1": 64, "conv2": 64, "conv3": 192,
    "inception3": [_inc(64, 96, 128, 16, 32, 32), _inc(128, 128, 192, 32, 96, 64)],
    "inception4": [_inc(192, 96, 208, 16, 48, 64), _inc(160, 112, 224, 24, 64, 64), _inc(128, 128, 256, 24, 64, 64),
                   _inc(112, 144, 288, 32, 64, 64), _inc(256, 160, 320, 32, 128, 128)],
    "inception5": [_inc(256, 160, 320, 32, 128, 128), _inc(384, 192, 384, 48, 128, 128)],
    "branch3Kernel": 3, "auxLogits": True, "auxConv": 128, "auxPool": 4, "auxHidden": 1024, "auxDropout": 0.7,
    "dropout": 0.2, "transformInput": True, "bnEps": 0.001, "numClasses": 1000,
}


def _a(pool):
    return {"branch1x1": 64, "branch5x5": [48, 64], "branch3x3dbl": [64, 96, 96], "poolFeatures": pool}


def _c(c7):
    return {"branch1x1": 192, "channels7x7": c7, "branch7x7": 192, "branch7x7dbl": 192, "branchPool": 192}


_E = {"branch1x1": 320, "branch3x3": [384, 384], "branch3x3dbl": [448, 384, 384], "branchPool": 192}
INCEPTION_V3 = {
    "stem": [32, 32, 64, 80, 192],
    "mixed5": [_a(32), _a(64), _a(64)],
    "mixed6a": {"branch3x3": 384, "branch3x3dbl": [64, 96, 96]},
    "mixed6": [_c(128), _c(160), _c(160), _c(192)],
    "mixed7a": {"branch3x3": [192, 320], "branch7x7x3": [192, 192, 192, 192]},
    "mixed7": [_E, _E],
    "auxLogits": True, "auxConv0": 128, "auxConv1": 768,
    "dropout": 0.5, "transformInput": True, "bnEps": 0.001, "numClasses": 1000,
}

NAMED = {"alexnet": ("alexnet", ALEXNET), "squeezenet1_0": ("squeezenet", SQUEEZENET["squeezenet1_0"]),
         "squeezenet1_1": ("squeezenet", SQUEEZENET["squeezenet1_1"]), "googlenet": ("googlenet", GOOGLENET),
         "inception_v3": ("inception_v3", INCEPTION_V3)}


# --- AlexNet -------------------------------------------------------------------------------------------

class ConfigAlexNet(tv_alexnet.AlexNet):
    def __init__(self, c):
        nn.Module.__init__(self)
        w = c["widths"]
        self.features = nn.Sequential(
            nn.Conv2d(3, w[0], kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(w[0], w[1], kernel_size=5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(w[1], w[2], kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(w[2], w[3], kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(w[3], w[4], kernel_size=3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2))
        p = c["poolSize"]
        self.avgpool = nn.AdaptiveAvgPool2d((p, p))
        self.classifier = nn.Sequential(
            nn.Dropout(p=c["dropout"]), nn.Linear(w[4] * p * p, c["hidden"]), nn.ReLU(inplace=True),
            nn.Dropout(p=c["dropout"]), nn.Linear(c["hidden"], c["hidden"]), nn.ReLU(inplace=True),
            nn.Linear(c["hidden"], c["numClasses"]))


# --- SqueezeNet ----------------------------------------------------------------------------------------

class ConfigSqueezeNet(tv_squeezenet.SqueezeNet):
    def __init__(self, c):
        nn.Module.__init__(self)
        self.num_classes = c["numClasses"]
        layers, channels = [], 3
        for item in c["items"]:
            if "conv" in item:
                k = item["conv"]
                layers += [nn.Conv2d(channels, k["out"], kernel_size=k["kernel"], stride=k["stride"]), nn.ReLU(inplace=True)]
                channels = k["out"]
            elif "pool" in item:
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True))
            else:
                f = item["fire"]
                layers.append(tv_squeezenet.Fire(channels, f["squeeze"], f["expand1x1"], f["expand3x3"]))
                channels = f["expand1x1"] + f["expand3x3"]
        self.features = nn.Sequential(*layers)
        final_conv = nn.Conv2d(channels, self.num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=c["dropout"]), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))


# --- GoogLeNet -----------------------------------------------------------------------------------------

def _basic_g(eps):
    """torchvision's googlenet.BasicConv2d (eps 0.001 in its __init__); checked against the config."""
    def make(cin, cout, **kw):
        m = tv_googlenet.BasicConv2d(cin, cout, **kw)
        assert m.bn.eps == eps, "torchvision's BasicConv2d eps differs from the config's bnEps"
        return m
    return make


class ConfigInception(tv_googlenet.Inception):
    def __init__(self, cin, b, k3, conv):
        nn.Module.__init__(self)
        self.branch1 = conv(cin, b["ch1x1"], kernel_size=1)
        self.branch2 = nn.Sequential(conv(cin, b["ch3x3red"], kernel_size=1),
                                     conv(b["ch3x3red"], b["ch3x3"], kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(conv(cin, b["ch5x5red"], kernel_size=1),
                                     conv(b["ch5x5red"], b["ch5x5"], kernel_size=k3, padding=k3 // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                                     conv(cin, b["poolProj"], kernel_size=1))


class ConfigGoogLeNetAux(tv_googlenet.InceptionAux):
    """InceptionAux with the aux widths of the config; forward is torchvision's except that its pool size
    is fixed at 4 there (checked: the config's auxPool must be 4)."""
    def __init__(self, cin, c, conv):
        nn.Module.__init__(self)
        assert c["auxPool"] == 4
        self.conv = conv(cin, c["auxConv"], kernel_size=1)
        self.fc1 = nn.Linear(c["auxConv"] * 16, c["auxHidden"])
        self.fc2 = nn.Linear(c["auxHidden"], c["numClasses"])
        self.dropout = nn.Dropout(p=c["auxDropout"])


def _out(b):
    return b["ch1x1"] + b["ch3x3"] + b["ch5x5"] + b["poolProj"]


class ConfigGoogLeNet(tv_googlenet.GoogLeNet):
    def __init__(self, c):
        nn.Module.__init__(self)
        conv = _basic_g(c["bnEps"])
        self.aux_logits = c["auxLogits"]
        self.transform_input = c["transformInput"]
        self.conv1 = conv(3, c["conv1"], kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = conv(c["conv1"], c["conv2"], kernel_size=1)
        self.conv3 = conv(c["conv2"], c["conv3"], kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        channels = c["conv3"]
        names = {3: "ab", 4: "abcde", 5: "ab"}
        # torchvision's forward calls the nine blocks by name and taps aux1 after inception4a, aux2 after
        # inception4d: a config with fewer blocks (a miniature) leaves the rest as nn.Identity, so an aux
        # head reads the output of the last block present up to its position.
        aux_in = []
        for stage in (3, 4, 5):
            blocks = c[f"inception{stage}"]
            assert 1 <= len(blocks) <= len(names[stage])
            for i in range(len(names[stage])):
                name = f"inception{stage}{names[stage][i]}"
                if i < len(blocks):
                    setattr(self, name, ConfigInception(channels, blocks[i], c["branch3Kernel"], conv))
                    channels = _out(blocks[i])
                else:
                    setattr(self, name, nn.Identity())
                if stage == 4 and i in (0, 3):
                    aux_in.append(channels)
            if stage == 3:
                self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            if stage == 4:
                self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        if c["auxLogits"]:
            self.aux1 = ConfigGoogLeNetAux(aux_in[0], c, conv)
            self.aux2 = ConfigGoogLeNetAux(aux_in[1], c, conv)
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=c["dropout"])
        self.fc = nn.Linear(channels, c["numClasses"])


# --- Inception v3 --------------------------------------------------------------------------------------

def _basic_i(eps):
    def make(cin, cout, **kw):
        m = tv_inception.BasicConv2d(cin, cout, **kw)
        assert m.bn.eps == eps, "torchvision's BasicConv2d eps differs from the config's bnEps"
        return m
    return make


class ConfigA(tv_inception.InceptionA):
    def __init__(self, cin, b, conv):
        nn.Module.__init__(self)
        r5, c5 = b["branch5x5"]
        d1, d2, d3 = b["branch3x3dbl"]
        self.branch1x1 = conv(cin, b["branch1x1"], kernel_size=1)
        self.branch5x5_1 = conv(cin, r5, kernel_size=1)
        self.branch5x5_2 = conv(r5, c5, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = conv(cin, d1, kernel_size=1)
        self.branch3x3dbl_2 = conv(d1, d2, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = conv(d2, d3, kernel_size=3, padding=1)
        self.branch_pool = conv(cin, b["poolFeatures"], kernel_size=1)


class ConfigB(tv_inception.InceptionB):
    def __init__(self, cin, b, conv):
        nn.Module.__init__(self)
        d1, d2, d3 = b["branch3x3dbl"]
        self.branch3x3 = conv(cin, b["branch3x3"], kernel_size=3, stride=2)
        self.branch3x3dbl_1 = conv(cin, d1, kernel_size=1)
        self.branch3x3dbl_2 = conv(d1, d2, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = conv(d2, d3, kernel_size=3, stride=2)


class ConfigC(tv_inception.InceptionC):
    def __init__(self, cin, b, conv):
        nn.Module.__init__(self)
        c7 = b["channels7x7"]
        self.branch1x1 = conv(cin, b["branch1x1"], kernel_size=1)
        self.branch7x7_1 = conv(cin, c7, kernel_size=1)
        self.branch7x7_2 = conv(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = conv(c7, b["branch7x7"], kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = conv(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = conv(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = conv(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = conv(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = conv(c7, b["branch7x7dbl"], kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = conv(cin, b["branchPool"], kernel_size=1)


class ConfigD(tv_inception.InceptionD):
    def __init__(self, cin, b, conv):
        nn.Module.__init__(self)
        a1, a2 = b["branch3x3"]
        s1, s2, s3, s4 = b["branch7x7x3"]
        self.branch3x3_1 = conv(cin, a1, kernel_size=1)
        self.branch3x3_2 = conv(a1, a2, kernel_size=3, stride=2)
        self.branch7x7x3_1 = conv(cin, s1, kernel_size=1)
        self.branch7x7x3_2 = conv(s1, s2, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = conv(s2, s3, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = conv(s3, s4, kernel_size=3, stride=2)


class ConfigE(tv_inception.InceptionE):
    def __init__(self, cin, b, conv):
        nn.Module.__init__(self)
        r3, c3 = b["branch3x3"]
        d1, d2, d3 = b["branch3x3dbl"]
        self.branch1x1 = conv(cin, b["branch1x1"], kernel_size=1)
        self.branch3x3_1 = conv(cin, r3, kernel_size=1)
        self.branch3x3_2a = conv(r3, c3, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = conv(r3, c3, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = conv(cin, d1, kernel_size=1)
        self.branch3x3dbl_2 = conv(d1, d2, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = conv(d2, d3, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = conv(d2, d3, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = conv(cin, b["branchPool"], kernel_size=1)


class ConfigInceptionAux(tv_inception.InceptionAux):
    def __init__(self, cin, c, conv):
        nn.Module.__init__(self)
        self.conv0 = conv(cin, c["auxConv0"], kernel_size=1)
        self.conv1 = conv(c["auxConv0"], c["auxConv1"], kernel_size=5)
        self.fc = nn.Linear(c["auxConv1"], c["numClasses"])


class ConfigInception3(tv_inception.Inception3):
    def __init__(self, c):
        nn.Module.__init__(self)
        conv = _basic_i(c["bnEps"])
        self.aux_logits = c["auxLogits"]
        self.transform_input = c["transformInput"]
        s = c["stem"]
        self.Conv2d_1a_3x3 = conv(3, s[0], kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = conv(s[0], s[1], kernel_size=3)
        self.Conv2d_2b_3x3 = conv(s[1], s[2], kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = conv(s[2], s[3], kernel_size=1)
        self.Conv2d_4a_3x3 = conv(s[3], s[4], kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        # torchvision's forward calls Mixed_5b…5d, 6b…6e, 7b…7c by name: a config with fewer blocks (a
        # miniature) leaves the rest as nn.Identity, which has no state (the Swift graph omits them).
        assert len(c["mixed5"]) <= 3 and len(c["mixed6"]) <= 4 and len(c["mixed7"]) <= 2
        for name in ["Mixed_5" + "bcd"[i] for i in range(len(c["mixed5"]), 3)] + \
                ["Mixed_6" + "bcde"[i] for i in range(len(c["mixed6"]), 4)] + \
                ["Mixed_7" + "bc"[i] for i in range(len(c["mixed7"]), 2)]:
            setattr(self, name, nn.Identity())
        ch = s[4]
        for i, b in enumerate(c["mixed5"]):
            setattr(self, f"Mixed_5{'bcd'[i]}", ConfigA(ch, b, conv))
            ch = b["branch1x1"] + b["branch5x5"][1] + b["branch3x3dbl"][2] + b["poolFeatures"]
        b = c["mixed6a"]
        self.Mixed_6a = ConfigB(ch, b, conv)
        ch = b["branch3x3"] + b["branch3x3dbl"][2] + ch
        for i, b in enumerate(c["mixed6"]):
            setattr(self, f"Mixed_6{'bcde'[i]}", ConfigC(ch, b, conv))
            ch = b["branch1x1"] + b["branch7x7"] + b["branch7x7dbl"] + b["branchPool"]
        self.AuxLogits = ConfigInceptionAux(ch, c, conv) if c["auxLogits"] else None
        b = c["mixed7a"]
        self.Mixed_7a = ConfigD(ch, b, conv)
        ch = b["branch3x3"][1] + b["branch7x7x3"][3] + ch
        for i, b in enumerate(c["mixed7"]):
            setattr(self, f"Mixed_7{'bc'[i]}", ConfigE(ch, b, conv))
            ch = b["branch1x1"] + 2 * b["branch3x3"][1] + 2 * b["branch3x3dbl"][2] + b["branchPool"]
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=c["dropout"])
        self.fc = nn.Linear(ch, c["numClasses"])


BUILDERS = {"alexnet": ConfigAlexNet, "squeezenet": ConfigSqueezeNet, "googlenet": ConfigGoogLeNet,
            "inception_v3": ConfigInception3}


def build(family, config):
    return BUILDERS[family](config)


def torchvision_model(arch, **kwargs):
    """torchvision's own builder, as its pretrained weights construct the model (aux heads present,
    transform_input on for GoogLeNet and Inception v3), random init."""
    import torchvision.models as tvm
    if arch == "googlenet":
        return tvm.GoogLeNet(aux_logits=True, transform_input=True, init_weights=True, **kwargs)
    if arch == "inception_v3":
        return tvm.Inception3(aux_logits=True, transform_input=True, init_weights=True, **kwargs)
    return getattr(tvm, arch)(weights=None, **kwargs)


def _layout(model):
    """Every module's path, class and geometry (no widths): what must match torchvision."""
    out = []
    for name, m in model.named_modules():
        kind = type(m).__mro__[0]
        # Our subclasses stand for the torchvision class they derive from.
        while kind.__module__ == __name__:
            kind = kind.__mro__[1]
        entry = [name, f"{kind.__module__}.{kind.__name__}"]
        if isinstance(m, nn.Conv2d):
            entry += [m.kernel_size, m.stride, m.padding, m.dilation, m.groups, m.bias is not None, m.padding_mode]
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            entry += [m.kernel_size, m.stride, m.padding, m.ceil_mode]
        elif isinstance(m, nn.BatchNorm2d):
            entry += [m.eps, m.momentum, m.affine, m.track_running_stats]
        elif isinstance(m, nn.Dropout):
            entry += [m.p]
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            entry += [m.output_size]
        elif isinstance(m, nn.Linear):
            entry += [m.bias is not None]
        for attr in ("aux_logits", "transform_input"):
            if hasattr(m, attr) and name == "":
                entry.append((attr, getattr(m, attr)))
        out.append(entry)
    return out


def check_layout(model, arch):
    """The model has torchvision's module tree for `arch` (paths, classes, kernel/stride/padding, pools,
    eps, dropout), widths aside — except for blocks a miniature left out (nn.Identity where torchvision
    has a block: the block's subtree is dropped from the comparison). Built on the meta device."""
    with torch.device("meta"):
        reference = torchvision_model(arch)
    dropped = [n for n, m in model.named_modules() if isinstance(m, nn.Identity)]
    keep = lambda e: not any(e[0] == d or e[0].startswith(d + ".") for d in dropped)  # noqa: E731
    mine, theirs = [e for e in _layout(model) if keep(e)], [e for e in _layout(reference) if keep(e)]
    if len(mine) != len(theirs):
        raise AssertionError(f"{arch}: {len(mine)} modules, torchvision has {len(theirs)}")
    for a, b in zip(mine, theirs):
        if a != b:
            raise AssertionError(f"{arch}: module {a} differs from torchvision's {b}")
    mine_keys = list(model.state_dict())
    their_keys = [k for k in reference.state_dict() if not any(k.startswith(d + ".") for d in dropped)]
    if mine_keys != their_keys:
        raise AssertionError(f"{arch}: state-dict keys differ from torchvision's")
