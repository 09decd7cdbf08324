"""Miniature CNNs for Graft's fixtures, built with the real libraries' own classes, and their configs.

Each builder returns (model, config). The model's module classes and state_dict key names are exactly
those of torchvision / timm / efficientnet_pytorch; only widths and depths are reduced so that the
checkpoints stay a few hundred KiB. The config holds every number a parametric Swift builder needs to
rebuild the same network (see Fixtures/README.md for the schema). Block-level facts (expanded and
squeeze widths, residual or not) are read back from the built modules, so library-specific rounding
rules are recorded as they were applied, not re-derived.

Used by tools/make_torch_fixtures.py and tools/make_model_fixtures.py; not run on its own.
"""

from functools import partial

import torch
from torch import nn

from fixturelib import perturb_model


def _torchvision_resnet_init(module):
    """The init loop of torchvision's ResNet.__init__, re-applied to the modules we rebuilt."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def resnet_mini(block, layers, widths, groups=1, width_per_group=64, num_classes=10):
    """A torchvision ResNet rebuilt at reduced widths with its own `_make_layer` (key names unchanged)."""
    from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
    cls = {"basic": BasicBlock, "bottleneck": Bottleneck}[block]
    model = ResNet(cls, layers, num_classes=num_classes, groups=groups, width_per_group=width_per_group)
    model.inplanes = widths[0]
    model.dilation = 1
    model.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
    model.bn1 = model._norm_layer(widths[0])
    model.layer1 = model._make_layer(cls, widths[0], layers[0])
    model.layer2 = model._make_layer(cls, widths[1], layers[1], stride=2)
    model.layer3 = model._make_layer(cls, widths[2], layers[2], stride=2)
    model.layer4 = model._make_layer(cls, widths[3], layers[3], stride=2)
    model.fc = nn.Linear(widths[3] * cls.expansion, num_classes)
    _torchvision_resnet_init(model)
    config = {"block": block, "layers": list(layers), "widths": list(widths), "stem_width": widths[0],
              "groups": groups, "width_per_group": width_per_group, "expansion": cls.expansion,
              "bn_eps": 1e-5, "num_classes": num_classes}
    return model, config


def timm_resnet_mini(layers, widths, num_classes=10):
    """timm's ResNet with BasicBlock at reduced stage `channels` (a timm constructor argument).

    timm's single 7x7 stem is always 64 wide (its `stem_width` only applies to deep stems), so with
    narrower stages `layer1.0` gets a 1x1 downsample projection from 64 channels, which torchvision's
    rule (stride != 1 or inplanes != planes * expansion) reproduces given `stem_width` 64.
    """
    from timm.models.resnet import BasicBlock, ResNet
    model = ResNet(BasicBlock, layers, num_classes=num_classes, channels=tuple(widths))
    stem = model.conv1.out_channels
    config = {"block": "basic", "layers": list(layers), "widths": list(widths), "stem_width": stem,
              "groups": 1, "width_per_group": 64, "expansion": 1, "bn_eps": 1e-5,
              "num_classes": num_classes}
    return model, config


def vgg_mini(cfg, batch_norm, hidden=32, num_classes=10):
    """torchvision's VGG(make_layers(cfg)) with the classifier rebuilt as the same 7-module Sequential."""
    from torchvision.models.vgg import VGG, make_layers
    model = VGG(make_layers(cfg, batch_norm=batch_norm), num_classes=num_classes, init_weights=True)
    last = [c for c in cfg if c != "M"][-1]
    model.classifier = nn.Sequential(
        nn.Linear(last * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(p=0.5),
        nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(p=0.5),
        nn.Linear(hidden, num_classes),
    )
    config = {"cfg": list(cfg), "batch_norm": batch_norm, "avgpool": 7, "classifier_hidden": hidden,
              "bn_eps": 1e-5, "num_classes": num_classes}
    return model, config


def _effnet_config(stages, blocks, stem, head, bn_eps, bn_momentum, padding, activation, num_classes,
                   **extra):
    config = {"stem_channels": stem, "head_channels": head, "bn_eps": bn_eps,
              "bn_momentum": round(bn_momentum, 6),
              "padding": padding, "activation": activation, "num_classes": num_classes}
    config.update(extra)
    config["stages"] = stages
    config["blocks"] = blocks
    return config


def _torchvision_stages(setting):
    stages = []
    for cnf in setting:
        fused = type(cnf).__name__ == "FusedMBConvConfig"
        stages.append({
            "block": "FusedMBConv" if fused else "MBConv", "expand_ratio": cnf.expand_ratio,
            "kernel": cnf.kernel, "stride": cnf.stride, "input_channels": cnf.input_channels,
            "out_channels": cnf.out_channels, "num_layers": cnf.num_layers,
            "se_ratio": None if fused else 0.25, "activation": "silu",
        })
    return stages


def torchvision_efficientnet_b_mini(width_mult, depth_mult, bn_eps=1e-5, bn_momentum=0.1, num_classes=10):
    """torchvision EfficientNet from `_efficientnet_conf("efficientnet_b0", width_mult, depth_mult)`."""
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf
    setting, last_channel = _efficientnet_conf("efficientnet_b0", width_mult=width_mult,
                                               depth_mult=depth_mult)
    norm = partial(nn.BatchNorm2d, eps=bn_eps, momentum=bn_momentum)
    model = EfficientNet(setting, dropout=0.2, num_classes=num_classes, norm_layer=norm,
                         last_channel=last_channel)
    stem = model.features[0][0].out_channels
    head = model.features[-1][0].out_channels
    config = _effnet_config(_torchvision_stages(setting), torchvision_blocks(model), stem, head, bn_eps,
                            bn_momentum, "symmetric", "silu", num_classes,
                            width_mult=width_mult, depth_mult=depth_mult, se_squeeze="max(1, input // 4)")
    return model, config


def torchvision_efficientnet_v2_mini(num_classes=10):
    """torchvision EfficientNet with a reduced V2-S-shaped table: 3 fused stages, then 3 MBConv stages.

    torchvision's V2 tables take no multipliers, so the table is written out: V2-S's widths divided by 3
    to 6 and rounded to multiples of 8, fewer layers, head 128 instead of the fixed 1280.
    """
    from torchvision.models.efficientnet import EfficientNet, FusedMBConvConfig, MBConvConfig
    setting = [
        FusedMBConvConfig(1, 3, 1, 8, 8, 2),
        FusedMBConvConfig(4, 3, 2, 8, 16, 2),
        FusedMBConvConfig(4, 3, 2, 16, 16, 1),
        MBConvConfig(4, 3, 2, 16, 24, 2),
        MBConvConfig(6, 3, 1, 24, 32, 1),
        MBConvConfig(6, 3, 2, 32, 40, 1),
    ]
    bn_eps = 1e-3
    model = EfficientNet(setting, dropout=0.2, num_classes=num_classes,
                         norm_layer=partial(nn.BatchNorm2d, eps=bn_eps), last_channel=128)
    config = _effnet_config(_torchvision_stages(setting), torchvision_blocks(model), 8, 128, bn_eps, 0.1,
                            "symmetric", "silu", num_classes, se_squeeze="max(1, input // 4)")
    return model, config


def timm_efficientnet_b0_mini(channel_mult, depth_mult, num_classes=10):
    """timm's `efficientnet_b0` generator with reduced channel/depth multipliers (timm key names)."""
    from timm.models.efficientnet import _gen_efficientnet
    model = _gen_efficientnet("efficientnet_b0", channel_multiplier=channel_mult,
                              depth_multiplier=depth_mult, num_classes=num_classes)
    stages, blocks = timm_blocks(model, se=True, activation="silu")
    config = _effnet_config(stages, blocks, model.conv_stem.out_channels, model.conv_head.out_channels,
                            model.bn1.eps, model.bn1.momentum, "symmetric", "silu", num_classes,
                            width_mult=channel_mult, depth_mult=depth_mult,
                            se_squeeze="round(expanded * 0.25 / expand_ratio)")
    return model, config


def timm_tf_efficientnet_lite0_mini(channel_mult, depth_mult, num_classes=10):
    """timm's `tf_efficientnet_lite0` recipe (bn_eps 1e-3, 'same' padding) with small multipliers.

    The registered `tf_efficientnet_lite0` hard-codes multipliers 1.0, so this calls its generator with
    the same keyword arguments it adds. Lite: no SE, ReLU6, stem and head not scaled, first and last
    stage depths not scaled.
    """
    from timm.models._efficientnet_builder import BN_EPS_TF_DEFAULT
    from timm.models.efficientnet import _gen_efficientnet_lite
    model = _gen_efficientnet_lite("tf_efficientnet_lite0", channel_multiplier=channel_mult,
                                   depth_multiplier=depth_mult, bn_eps=BN_EPS_TF_DEFAULT, pad_type="same",
                                   num_classes=num_classes)
    stages, blocks = timm_blocks(model, se=False, activation="relu6")
    config = _effnet_config(stages, blocks, model.conv_stem.out_channels, model.conv_head.out_channels,
                            model.bn1.eps, model.bn1.momentum, "tf_same", "relu6", num_classes,
                            width_mult=channel_mult, depth_mult=depth_mult, se_squeeze=None)
    return model, config


def effnet_pytorch_b0_mini(width, depth, image_size=64, num_classes=10):
    """efficientnet_pytorch's `EfficientNet.from_name('efficientnet-b0', ...)` at reduced width/depth.

    Its convolutions pad TF-'same' statically for `image_size`, so it must be fed exactly that size.
    """
    from efficientnet_pytorch import EfficientNet
    model = EfficientNet.from_name("efficientnet-b0", width_coefficient=width, depth_coefficient=depth,
                                   image_size=image_size, num_classes=num_classes)
    stages, blocks = effnet_pytorch_blocks(model)
    config = _effnet_config(stages, blocks, model._conv_stem.out_channels, model._conv_head.out_channels,
                            model._bn0.eps, model._bn0.momentum, "tf_same", "silu", num_classes,
                            width_mult=width, depth_mult=depth, image_size=image_size,
                            se_squeeze="max(1, int(input * 0.25))")
    return model, config


# --- the miniatures, by name ---------------------------------------------------------------------

# VGG-11's layout (A) at reduced widths; the classifier input is 16 * 7 * 7.
VGG11_MINI_CFG = [8, "M", 8, "M", 16, 16, "M", 16, 16, "M", 16, 16, "M"]

# What each miniature is. `seed` goes to torch.manual_seed before building (the random init) and, plus
# 1000, to perturb_model; `input_size` is the side of its square reference input.
def _entry(build, seed, naming, family, input_size=64):
    return {"build": build, "seed": seed, "naming": naming, "family": family, "input_size": input_size}


MINIATURES = {
    "resnet18_mini": _entry(partial(resnet_mini, "basic", [2, 1, 1, 1], [8, 16, 32, 64]), 1,
                            "torchvision", "resnet"),
    "resnet50_mini": _entry(partial(resnet_mini, "bottleneck", [1, 2, 1, 1], [8, 16, 32, 64]), 2,
                            "torchvision", "resnet"),
    "vgg11_mini": _entry(partial(vgg_mini, VGG11_MINI_CFG, False), 3, "torchvision", "vgg", 32),
    "vgg11_bn_mini": _entry(partial(vgg_mini, VGG11_MINI_CFG, True), 4, "torchvision", "vgg", 48),
    "efficientnet_b0_mini": _entry(partial(torchvision_efficientnet_b_mini, 0.1, 0.5), 5,
                                   "torchvision", "efficientnet"),
    "efficientnet_v2_s_mini": _entry(torchvision_efficientnet_v2_mini, 6, "torchvision", "efficientnet"),
    # A very small ResNet for the wrapper and refusal fixtures, where only the container matters.
    "resnet_micro": _entry(partial(resnet_mini, "basic", [1, 1, 1, 1], [4, 4, 4, 4]), 7,
                           "torchvision", "resnet"),
    "resnext_mini": _entry(partial(resnet_mini, "bottleneck", [1, 1, 1, 1], [8, 8, 16, 16], groups=4,
                                   width_per_group=32), 11, "torchvision", "resnet"),
    "wide_resnet_mini": _entry(partial(resnet_mini, "bottleneck", [1, 1, 1, 1], [8, 8, 16, 16],
                                       width_per_group=128), 12, "torchvision", "resnet"),
    "efficientnet_b5_like_mini": _entry(partial(torchvision_efficientnet_b_mini, 0.15, 0.25, bn_eps=0.001,
                                                bn_momentum=0.01), 13, "torchvision", "efficientnet"),
    "timm_efficientnet_b0_mini": _entry(partial(timm_efficientnet_b0_mini, 0.1, 0.5), 21,
                                        "timm", "efficientnet"),
    "timm_resnet_mini": _entry(partial(timm_resnet_mini, [2, 1, 1, 1], [8, 16, 16, 32]), 22,
                               "timm", "resnet"),
    "timm_tf_efficientnet_lite0_mini": _entry(partial(timm_tf_efficientnet_lite0_mini, 0.1, 0.5), 23,
                                              "timm", "efficientnet"),
    "effnet_pytorch_b0_mini": _entry(partial(effnet_pytorch_b0_mini, 0.1, 0.5), 31,
                                     "efficientnet_pytorch", "efficientnet"),
}

# Peak |logit| the calibration gives every miniature (see calibrate_logits).
LOGIT_PEAK = 6.0


def calibrate_logits(model, x):
    """Scale the last Linear so that the logits of the calibration batch peak at LOGIT_PEAK.

    Random networks give logits anywhere from 0.1 to 1e3. Parity is checked to an absolute 1e-4, which
    means little on logits of 0.1 and is float32 noise on logits of 1e3. Scaling the classifier (a
    linear map, so nothing else changes) puts every reference on the same footing.
    """
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        factor = LOGIT_PEAK / model(x).abs().max().item()
        last.weight.mul_(factor)
        last.bias.mul_(factor)


def make_miniature(name):
    """Build a miniature deterministically: init, perturb biases and BN, eval mode, calibrate logits."""
    entry = MINIATURES[name]
    torch.manual_seed(entry["seed"])
    model, config = entry["build"]()
    size = entry["input_size"]
    calibration = torch.randn(8, 3, size, size, generator=torch.Generator().manual_seed(4242))
    perturb_model(model, entry["seed"] + 1000, calibration)
    calibrate_logits(model, calibration)
    return model, config


# --- block-level facts read back from the built EfficientNets ----------------------------------------

# The nominal B0 stage table (paper Table 1), shared by torchvision, timm and efficientnet_pytorch.
B0_EXPAND = [1, 6, 6, 6, 6, 6, 6]


def _block(stage, index, key, kind, cin, expanded, cout, kernel, stride, expand_conv, se_channels, residual):
    return {"stage": stage, "index": index, "key_prefix": key, "block": kind, "input_channels": cin,
            "expanded_channels": expanded, "out_channels": cout, "kernel": kernel, "stride": stride,
            "expand_conv": expand_conv, "se_channels": se_channels, "residual": bool(residual)}


def torchvision_blocks(model):
    """One entry per MBConv/FusedMBConv in `features[1:-1]`, as torchvision built it."""
    blocks = []
    for s, stage in enumerate(list(model.features)[1:-1]):
        for j, blk in enumerate(stage):
            key = f"features.{s + 1}.{j}"
            layers = list(blk.block)
            if type(blk).__name__ == "FusedMBConv":
                first = layers[0][0]
                last = layers[-1][0]
                blocks.append(_block(s, j, key, "FusedMBConv", first.in_channels, first.out_channels
                                     if len(layers) == 2 else first.in_channels, last.out_channels,
                                     first.kernel_size[0], first.stride[0], len(layers) == 2, None,
                                     blk.use_res_connect))
                continue
            expand = len(layers) == 4
            dw = layers[1 if expand else 0][0]
            se = layers[2 if expand else 1]
            proj = layers[-1][0]
            cin = layers[0][0].in_channels
            blocks.append(_block(s, j, key, "MBConv", cin, dw.out_channels, proj.out_channels,
                                 dw.kernel_size[0], dw.stride[0], expand, se.fc1.out_channels,
                                 blk.use_res_connect))
    return blocks


def timm_blocks(model, se, activation):
    """Stage list and per-block facts of a timm EfficientNet (DepthwiseSeparableConv/InvertedResidual)."""
    stages, blocks = [], []
    for s, stage in enumerate(model.blocks):
        for j, blk in enumerate(stage):
            key = f"blocks.{s}.{j}"
            se_ch = blk.se.conv_reduce.out_channels if hasattr(blk.se, "conv_reduce") else None
            if type(blk).__name__ == "DepthwiseSeparableConv":
                cin, cout = blk.conv_dw.in_channels, blk.conv_pw.out_channels
                blocks.append(_block(s, j, key, "DepthwiseSeparable", cin, cin, cout,
                                     blk.conv_dw.kernel_size[0], blk.conv_dw.stride[0], False, se_ch,
                                     blk.has_skip))
            else:
                blocks.append(_block(s, j, key, "MBConv", blk.conv_pw.in_channels, blk.conv_pw.out_channels,
                                     blk.conv_pwl.out_channels, blk.conv_dw.kernel_size[0],
                                     blk.conv_dw.stride[0], True, se_ch, blk.has_skip))
        first = [b for b in blocks if b["stage"] == s][0]
        stages.append({"block": first["block"], "expand_ratio": B0_EXPAND[s], "kernel": first["kernel"],
                       "stride": first["stride"], "input_channels": first["input_channels"],
                       "out_channels": first["out_channels"], "num_layers": len(stage),
                       "se_ratio": 0.25 if se else None, "activation": activation})
    return stages, blocks


def effnet_pytorch_blocks(model):
    """Stage list and per-block facts of an efficientnet_pytorch EfficientNet.

    Its residual test is `id_skip and stride == 1 and in == out`, where the first block of each stage
    carries its stride as a one-element list, so `[1] == 1` is False: a stage's first block never adds
    its input, even at stride 1 with equal widths. The `residual` flags below record that behaviour.
    """
    from efficientnet_pytorch.utils import round_filters, round_repeats
    gp = model._global_params
    stages = []
    for ba in model._blocks_args:
        stages.append({"block": "MBConv", "expand_ratio": ba.expand_ratio, "kernel": ba.kernel_size,
                       "stride": ba.stride[0], "input_channels": round_filters(ba.input_filters, gp),
                       "out_channels": round_filters(ba.output_filters, gp),
                       "num_layers": round_repeats(ba.num_repeat, gp), "se_ratio": ba.se_ratio,
                       "activation": "silu"})
    blocks, n = [], 0
    for s, stage in enumerate(stages):
        for j in range(stage["num_layers"]):
            blk = model._blocks[n]
            ba = blk._block_args
            stride = ba.stride[0] if isinstance(ba.stride, list) else ba.stride
            residual = blk.id_skip and ba.stride == 1 and ba.input_filters == ba.output_filters
            blocks.append(_block(s, j, f"_blocks.{n}", "MBConv", ba.input_filters,
                                 blk._depthwise_conv.out_channels, ba.output_filters, ba.kernel_size, stride,
                                 ba.expand_ratio != 1, blk._se_reduce.out_channels if blk.has_se else None,
                                 residual))
            n += 1
    if n != len(model._blocks):
        raise AssertionError(f"stage table covers {n} blocks, model has {len(model._blocks)}")
    return stages, blocks
