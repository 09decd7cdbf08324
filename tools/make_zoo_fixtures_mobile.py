"""Make the MobileNetV2 / MobileNetV3 / MNASNet references in Fixtures/zoo/mobile/: for each miniature
<name>.pth, <name>_logits.npy, <name>_train.safetensors, and manifest.json.

Three miniatures built with torchvision's own classes (module classes and state_dict keys are
torchvision's), with reduced tables so the whole folder stays under 250 KB:
- mobilenet_v2_mini: `MobileNetV2(width_mult=0.25, inverted_residual_setting=…)` — a t = 1 block and an
  expanded one, both residual, then an expanded block at stride 2 — with the last 1×1 conv and the classifier rebuilt 16 wide
  (torchvision fixes them at 1280);
- mobilenet_v3_mini: `MobileNetV3` over four `InvertedResidualConfig`s (width 0.5) that cover both tables'
  block kinds: no expansion, ReLU and Hardswish, squeeze-excitation with Hardsigmoid, kernel 5, residual;
  `last_channel` 16;
- mnasnet_mini: `MNASNet(0.1)` with two one-block `_stack`s instead of six (the first residual) and the head
  conv 16 wide.

Each is seeded, perturbed and calibrated as the other miniatures (tools/fixturelib.perturb_model,
tools/fixture_archs.calibrate_logits) and run on Fixtures/models/input_2x3x64x64.npy (shared, not
copied). The checks of tools/make_model_fixtures.py are made here too: reloading the checkpoint into a
differently initialized model reproduces the logits bit for bit, float64 agrees to 2.5e-5, swapping BN
eps moves the logits by > 1e-3.

<name>_train.safetensors holds, in training mode (batch statistics, dropout p = 0, cross-entropy on
labels [3, 7]): `grad.<key>` for every parameter after one backward, and `after.<key>` for every parameter
and BatchNorm running statistic after three steps of torch.optim.SGD(lr 0.1, momentum 0.9) on the same
batch. The manifest records the three losses.

The manifest's `config` is the Graft config in its Codable form (MobileNetV2Config, MobileNetV3Config or
MNASNetConfig, by `architecture`, torchvision's class name), read back from the built modules.
`torchvision_archs` records, for every registered mobilenet_v2 / mobilenet_v3_* / mnasnet* builder (and
mnasnet0_5 as torchvision loads a version-1 checkpoint), the number of state-dict entries and elements
and the sha256 of its `key shape` lines, so the full-size graphs are checked against torchvision's without
any weights.

Deterministic (fixed seeds, one thread), CPU only. From the repository root:
    /work/main/.venv/bin/python tools/make_zoo_fixtures_mobile.py
"""

import copy
import hashlib
import sys
import warnings
from collections import OrderedDict
from functools import partial
from pathlib import Path

import numpy
import torch
from safetensors.torch import save_file
from torch import nn

sys.dont_write_bytecode = True  # no __pycache__ next to the helpers in tools/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixturelib as lib  # noqa: E402
from fixture_archs import calibrate_logits  # noqa: E402

OUT = lib.FIXTURES / "zoo" / "mobile"
INPUT = "../../models/input_2x3x64x64.npy"
TOLERANCE = 1e-4
MIN_EPS_SENSITIVITY = 10 * TOLERANCE
MAX_FLOAT64_DEVIATION = TOLERANCE / 4
TRAIN_LABELS = [3, 7]
SGD_STEPS, SGD_LR, SGD_MOMENTUM = 3, 0.1, 0.9
BUDGET = 250_000


# --- the miniatures -------------------------------------------------------------------------------

def mobilenet_v2_mini():
    from torchvision.models.mobilenetv2 import MobileNetV2
    from torchvision.ops.misc import Conv2dNormActivation
    setting = [[1, 16, 1, 1], [3, 32, 1, 1], [2, 64, 1, 2]]
    model = MobileNetV2(num_classes=10, width_mult=0.25, inverted_residual_setting=setting)
    last_in = model.features[-1][0].in_channels
    model.features[-1] = Conv2dNormActivation(last_in, 16, kernel_size=1, activation_layer=nn.ReLU6)
    model.classifier[1] = nn.Linear(16, 10)
    blocks = []
    for blk in list(model.features)[1:-1]:
        layers = list(blk.conv)
        expand = len(layers) == 4
        dw = layers[1 if expand else 0][0]
        block = {"inChannels": layers[0][0].in_channels, "expandedChannels": dw.out_channels,
                 "outChannels": layers[-2].out_channels, "stride": dw.stride[0]}
        assert blk.use_res_connect == (block["stride"] == 1 and block["inChannels"] == block["outChannels"])
        blocks.append(block)
    config = {"stemChannels": model.features[0][0].out_channels, "blocks": blocks, "lastChannels": 16,
              "dropout": model.classifier[0].p, "numClasses": 10}
    return model, config


def mobilenet_v3_mini():
    from torchvision.models._utils import _make_divisible
    from torchvision.models.mobilenetv3 import InvertedResidualConfig, MobileNetV3
    from torchvision.ops.misc import SqueezeExcitation
    bneck = partial(InvertedResidualConfig, width_mult=0.5)
    setting = [
        bneck(16, 3, 16, 16, True, "RE", 2, 1),   # no expansion, SE, stride 2 (Small's first block)
        bneck(16, 3, 32, 16, False, "RE", 1, 1),  # expansion, ReLU, residual
        bneck(16, 5, 48, 16, False, "HS", 2, 1),  # Hardswish, kernel 5, stride 2
        bneck(16, 5, 32, 16, True, "HS", 1, 1),   # Hardswish, SE, kernel 5, residual
    ]
    model = MobileNetV3(setting, last_channel=16, num_classes=10)
    blocks = []
    for blk in list(model.features)[1:-1]:
        layers = list(blk.block)
        first = layers[0][0]
        expand = first.kernel_size[0] == 1 and first.groups == 1
        dw_unit = layers[1 if expand else 0]
        se = [m for m in layers if isinstance(m, SqueezeExcitation)]
        block = {"inChannels": first.in_channels, "kernel": dw_unit[0].kernel_size[0],
                 "expandedChannels": dw_unit[0].out_channels, "outChannels": layers[-1][0].out_channels,
                 "squeezeExcitation": bool(se), "hardswish": isinstance(dw_unit[2], nn.Hardswish),
                 "stride": dw_unit[0].stride[0]}
        if se:  # the squeeze width Graft derives: _make_divisible(expanded // 4, 8)
            assert se[0].fc1.out_channels == _make_divisible(block["expandedChannels"] // 4, 8)
        assert blk.use_res_connect == (block["stride"] == 1 and block["inChannels"] == block["outChannels"])
        blocks.append(block)
    norm = model.features[0][1]
    config = {"blocks": blocks, "lastChannels": 16, "bnEps": norm.eps, "bnMomentum": norm.momentum,
              "dropout": model.classifier[2].p, "numClasses": 10}
    return model, config


def mnasnet_mini():
    from torchvision.models.mnasnet import _BN_MOMENTUM, MNASNet, _stack
    model = MNASNet(0.1, num_classes=10)
    stem = list(model.layers)[:8]
    width = stem[6].out_channels
    # A stack whose first block keeps its width at stride 1 (so it is residual), then one that widens.
    stacks = [_stack(width, width, 3, 1, 3, 1, _BN_MOMENTUM), _stack(width, 16, 5, 2, 3, 1, _BN_MOMENTUM)]
    head = [nn.Conv2d(16, 16, 1, bias=False), nn.BatchNorm2d(16, momentum=_BN_MOMENTUM), nn.ReLU(inplace=True)]
    model.layers = nn.Sequential(*stem, *stacks, *head)
    model.classifier[1] = nn.Linear(16, 10)
    config_stacks = []
    for stack in stacks:
        first = stack[0].layers
        config_stacks.append({"inChannels": first[0].in_channels, "outChannels": first[6].out_channels,
                              "kernel": first[3].kernel_size[0], "stride": first[3].stride[0],
                              "expansion": first[0].out_channels // first[0].in_channels, "repeats": len(stack)})
    config = {"stemChannels": stem[0].out_channels, "separableChannels": stem[6].out_channels,
              "stacks": config_stacks, "headChannels": 16, "dropout": model.classifier[0].p, "numClasses": 10}
    return model, config


MINIATURES = OrderedDict([
    ("mobilenet_v2_mini", (mobilenet_v2_mini, 41)),
    ("mobilenet_v3_mini", (mobilenet_v3_mini, 42)),
    ("mnasnet_mini", (mnasnet_mini, 43)),
])


# --- references -----------------------------------------------------------------------------------

def build(name, seed_offset=0):
    build_fn, seed = MINIATURES[name]
    torch.manual_seed(seed + seed_offset)
    return build_fn()


def eps_sensitivity(model, x, logits):
    probe = copy.deepcopy(model)
    for norm in [m for m in probe.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]:
        norm.eps = 1e-3 if norm.eps < 1e-4 else 1e-5
    with torch.no_grad():
        return (probe(x) - logits).abs().max().item()


def training(model, x):
    """Gradients of one training-mode step, then the state after SGD_STEPS SGD steps on the same batch."""
    model = copy.deepcopy(model)
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    model.train()
    labels = torch.tensor(TRAIN_LABELS)
    optimizer = torch.optim.SGD(model.parameters(), lr=SGD_LR, momentum=SGD_MOMENTUM)
    tensors, losses = OrderedDict(), []
    for step in range(SGD_STEPS):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), labels)
        loss.backward()
        losses.append(float(f"{loss.item():.9g}"))
        if step == 0:
            for key, p in model.named_parameters():
                tensors[f"grad.{key}"] = p.grad.detach().clone()
        optimizer.step()
    for key, t in model.state_dict().items():
        if t.dtype == torch.float32:
            tensors[f"after.{key}"] = t.detach().clone()
    return tensors, losses


def make_reference(name, x):
    _, seed = MINIATURES[name]
    model, config = build(name)
    calibration = torch.randn(8, 3, 64, 64, generator=torch.Generator().manual_seed(4242))
    lib.perturb_model(model, seed + 1000, calibration)
    calibrate_logits(model, calibration)
    torch.save(model.state_dict(), OUT / f"{name}.pth")
    with torch.no_grad():
        logits = model(x)
    numpy.save(OUT / f"{name}_logits.npy", logits.numpy().astype(numpy.float32))

    fresh, _ = build(name, seed_offset=5000)
    fresh.load_state_dict(torch.load(OUT / f"{name}.pth", weights_only=True), strict=True)
    with torch.no_grad():
        if not torch.equal(fresh.eval()(x), logits):
            raise AssertionError(f"{name}: reloading the checkpoint does not reproduce the logits")
        exact = copy.deepcopy(model).double()(x.double())
    deviation = (logits.double() - exact).abs().max().item()
    if deviation > MAX_FLOAT64_DEVIATION:
        raise AssertionError(f"{name}: float32 logits are {deviation:.2e} away from float64")
    sensitivity = eps_sensitivity(model, x, logits)
    if sensitivity < MIN_EPS_SENSITIVITY:
        raise AssertionError(f"{name}: BN eps moves the logits by only {sensitivity:.2e}")
    tensors, losses = training(model, x)
    save_file(tensors, str(OUT / f"{name}_train.safetensors"))

    peak = logits.abs().max().item()
    size = sum((OUT / f).stat().st_size for f in (f"{name}.pth", f"{name}_train.safetensors"))
    print(f"{name:18s} max|logit| {peak:6.3f}  f64 deviation {deviation:.1e}  eps sensitivity {sensitivity:.2e}  "
          f"losses {losses}  {size / 1024:.0f} KiB")
    return OrderedDict([
        ("checkpoint", f"{name}.pth"), ("architecture", type(model).__name__), ("config", config),
        ("input", INPUT), ("logits", f"{name}_logits.npy"), ("train", f"{name}_train.safetensors"),
        ("input_shape", list(x.shape)), ("logits_shape", list(logits.shape)),
        ("max_abs_logit", round(peak, 6)), ("float64_deviation", float(f"{deviation:.3g}")),
        ("eps_sensitivity", float(f"{sensitivity:.3g}")), ("labels", TRAIN_LABELS),
        ("sgd", OrderedDict([("steps", SGD_STEPS), ("lr", SGD_LR), ("momentum", SGD_MOMENTUM)])),
        ("losses", losses),
    ])


def structure(state_dict):
    lines = "".join(f"{k} {' '.join(str(d) for d in v.shape)}\n" for k, v in state_dict.items())
    return OrderedDict([("entries", len(state_dict)), ("elements", sum(v.numel() for v in state_dict.values())),
                        ("sha256", hashlib.sha256(lines.encode()).hexdigest())])


def torchvision_archs():
    from torchvision import models
    out = OrderedDict()
    families = ("mobilenet_v2", "mobilenet_v3", "mnasnet")
    for name in [n for n in sorted(models.list_models(module=models)) if n.startswith(families)]:
        out[name] = structure(models.get_model(name).state_dict())
    # torchvision's loader patch for a version-1 checkpoint: the fixed 32 -> 16 stem.
    v1 = models.get_model("mnasnet0_5")
    with warnings.catch_warnings():  # torchvision's advice to upgrade the checkpoint
        warnings.simplefilter("ignore", UserWarning)
        v1._load_from_state_dict({}, "", {"version": 1}, False, [], [], [])
    out["mnasnet0_5 (version 1)"] = structure(v1.state_dict())
    return out


def main():
    lib.configure_torch()
    OUT.mkdir(parents=True, exist_ok=True)
    x = torch.from_numpy(numpy.load(OUT / INPUT))
    references = OrderedDict((name, make_reference(name, x)) for name in MINIATURES)
    lib.write_json(OUT / "manifest.json", {
        "generator": "tools/make_zoo_fixtures_mobile.py", "versions": lib.versions(), "tolerance": TOLERANCE,
        "models": references, "torchvision_archs": torchvision_archs()})
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"wrote {len(references)} references + manifest.json to {OUT} ({total} bytes)")
    if total > BUDGET:
        raise AssertionError(f"{OUT} is {total} bytes, over the {BUDGET}-byte budget")


if __name__ == "__main__":
    main()
