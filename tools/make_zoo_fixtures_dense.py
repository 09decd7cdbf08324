"""Make the "dense" group's zoo references: Fixtures/zoo/dense/ (DenseNet, ShuffleNet V2, RegNet X and Y).

For each family a miniature is built from torchvision's own classes (DenseNet, ShuffleNetV2, RegNet with
BlockParams) with reduced widths and depths, so module classes and state-dict keys are torchvision's.
After the seeded init, fixturelib.perturb_model gives it trained-looking BatchNorm statistics (measured
on a calibration batch, then jittered) and non-zero biases / BN affine terms. Then, per miniature:
- <name>.pth: the state dict (torch.save, legacy non-zip format to fit the size budget);
- <name>_logits.npy: eval-mode logits for the shared input batch input_2x3x33x25.npy;
- <name>_grad.safetensors: one training-mode forward/backward on that batch (batch statistics,
  dropout p = 0), mean cross-entropy against LABELS: `loss`, `logits`, `grad.<param>` for every
  parameter and, for DenseNet, `after.<bn>.running_mean/var` after the forward;
- <name>_sgd.safetensors: every parameter (`state.<key>`) after 3 steps of
  torch.optim.SGD(lr 0.1, momentum 0.9) in training mode on the same batch, starting from the
  checkpoint, plus the 3 losses (`losses`).
densenet_legacy_keys.json pairs old-style DenseNet keys (`norm.1`, `conv.2` …) with the names
torchvision's own `densenet._load_state_dict` gives them (run on them, not re-implemented).

Checks before the manifest is written: a fresh model loaded from the saved checkpoint reproduces the
logits bit for bit; the same computations in float64 give the float32 references' rounding error
(recorded as float64_deviation), which must stay well below the Swift tests' tolerances; and every
parameter gets a non-zero gradient.

Deterministic (fixed seeds, one thread, deterministic kernels), CPU only, a few seconds. From the
repository root:
    .venv/bin/python tools/make_zoo_fixtures_dense.py
"""

import copy
import sys
from collections import OrderedDict
from pathlib import Path

import numpy
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn
from torchvision.models import densenet as tv_densenet
from torchvision.models.densenet import DenseNet
from torchvision.models.regnet import BlockParams, RegNet
from torchvision.models.shufflenetv2 import ShuffleNetV2

sys.dont_write_bytecode = True  # no __pycache__ next to the helpers in tools/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixture_containers as zc  # noqa: E402
import fixturelib as lib  # noqa: E402

OUT = lib.FIXTURES / "zoo" / "dense"
BATCH = 2
# Non-square: 33 rows leave ShuffleNet 2 rows at conv5 (its BatchNorm needs more than one value
# per sample and channel in training); 25 columns test H ≠ W and odd sizes at every stride.
HEIGHT, WIDTH = 33, 25
INPUT_SEED = 7040
CALIBRATION_SEED = 7041
LABELS = [1, 3]
CLASSES = 5
SGD_STEPS = 3
LR = 0.1
MOMENTUM = 0.9
BUDGET = 250_000
# What the Swift tests allow; the float64 deviation of each reference must stay under a fifth of it.
LOGIT_TOLERANCE = 1e-4


def densenet_mini():
    # Two blocks (one transition): the first has two layers, so the second reads a concatenation of
    # three pieces; norm5 still sees 4×4 positions at 33×33.
    config = OrderedDict([("growth_rate", 4), ("block_config", [2, 1]), ("num_init_features", 8),
                          ("bn_size", 2), ("drop_rate", 0.0), ("num_classes", CLASSES)])
    model = DenseNet(growth_rate=4, block_config=(2, 1), num_init_features=8, bn_size=2, drop_rate=0.0,
                     num_classes=CLASSES)
    return model, config


def shufflenet_mini():
    # The fewest blocks torchvision allows (one per stage) plus one stride-1 block in stage2.
    config = OrderedDict([("stages_repeats", [2, 1, 1]), ("stages_out_channels", [4, 8, 8, 16, 16]),
                          ("num_classes", CLASSES)])
    return ShuffleNetV2(config["stages_repeats"], config["stages_out_channels"], num_classes=CLASSES), config


def regnet_x_mini():
    # Explicit stage parameters; stage 2 has bottleneck multiplier 0.5 (w_b = 8, one group of 8).
    params = BlockParams(depths=[1, 2], widths=[8, 16], group_widths=[4, 8],
                         bottleneck_multipliers=[1.0, 0.5], strides=[2, 2], se_ratio=None)
    config = OrderedDict([("depths", params.depths), ("widths", params.widths), ("group_widths", params.group_widths),
                          ("bottleneck_multipliers", params.bottleneck_multipliers), ("strides", params.strides),
                          ("se_ratio", None), ("stem_width", 8), ("num_classes", CLASSES)])
    return RegNet(params, num_classes=CLASSES, stem_width=8), config


def regnet_y_mini():
    # Stages from the init-params rule (depths [1, 1], widths [8, 16], group width 4); a stem of 10
    # makes the first squeeze width round(0.25 · 10) = round(2.5) = 2, a tie Python rounds to even.
    init = OrderedDict([("depth", 2), ("w_0", 8), ("w_a", 8.0), ("w_m", 2.0), ("group_width", 4), ("se_ratio", 0.25)])
    params = BlockParams.from_init_params(**init)
    config = OrderedDict([("init_params", init), ("depths", params.depths), ("widths", params.widths),
                          ("group_widths", params.group_widths),
                          ("bottleneck_multipliers", params.bottleneck_multipliers), ("strides", params.strides),
                          ("se_ratio", params.se_ratio), ("stem_width", 10), ("num_classes", CLASSES)])
    return RegNet(params, num_classes=CLASSES, stem_width=10), config


# name -> (builder, init seed, perturbation seed)
MINIATURES = OrderedDict([
    ("densenet_mini", (densenet_mini, 7101, 7201)),
    ("shufflenet_v2_mini", (shufflenet_mini, 7102, 7202)),
    ("regnet_x_mini", (regnet_x_mini, 7103, 7203)),
    ("regnet_y_mini", (regnet_y_mini, 7104, 7205)),
])


def build(name, seed_offset=0):
    builder, seed, _ = MINIATURES[name]
    torch.manual_seed(seed + seed_offset)
    return builder()


def norm_buffers(model):
    out = OrderedDict()
    for module_name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            for buffer_name, buffer in module.named_buffers(recurse=False):
                out[f"{module_name}.{buffer_name}"] = buffer.detach().clone()
    return out


def loaded(name, state_dict, dtype=torch.float32):
    """A fresh model (another init seed) with the checkpoint loaded strictly, dropout at p = 0."""
    model, _ = build(name, seed_offset=5000)
    model.load_state_dict(state_dict, strict=True)
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    return model.to(dtype)


def gradient_tensors(name, state_dict, x, labels, dtype=torch.float32):
    """Loss, logits, every parameter's gradient; for DenseNet (whose first BatchNorm of each dense layer
    Graft runs outside the module) also the running statistics after the forward."""
    model = loaded(name, state_dict, dtype).train()
    logits = model(x.to(dtype))
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out = OrderedDict([("loss", loss.detach().reshape(1)), ("logits", logits.detach())])
    for pname, param in model.named_parameters():
        if param.grad is None or not param.grad.abs().max() > 0:
            raise AssertionError(f"{name}: {pname} gets no gradient")
        out[f"grad.{pname}"] = param.grad.detach().clone()
    for bname, buffer in norm_buffers(model).items():
        if name.startswith("densenet") and not bname.endswith("num_batches_tracked"):
            out[f"after.{bname}"] = buffer
    return out


def sgd_tensors(name, state_dict, x, labels, dtype=torch.float32):
    model = loaded(name, state_dict, dtype).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    losses = []
    for _ in range(SGD_STEPS):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x.to(dtype)), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    out = OrderedDict([("losses", torch.tensor(losses, dtype=torch.float32))])
    for key, value in model.named_parameters():
        out[f"state.{key}"] = value.detach().clone()
    return out


def deviation(a, b, keys):
    """Largest |a − b| over `keys`, and the largest relative to each tensor's peak."""
    worst, relative = 0.0, 0.0
    for k in keys:
        if not a[k].is_floating_point():
            if not torch.equal(a[k], b[k]):
                raise AssertionError(f"{k}: integer tensors differ")
            continue
        d = (a[k].double() - b[k].double()).abs().max().item()
        worst = max(worst, d)
        relative = max(relative, d / max(a[k].abs().max().item(), 1e-12))
    return worst, relative


def save_safetensors(path, tensors):
    save_file({k: v.contiguous() for k, v in tensors.items()}, path)
    path.chmod(0o644)


def make_reference(name, x, calibration):
    model, config = build(name)
    _, _, perturb_seed = MINIATURES[name]
    lib.perturb_model(model, perturb_seed, calibration)
    checkpoint = OUT / f"{name}.pth"
    # The legacy (non-zip) format: a zip entry per tensor would cost ~340 bytes each, and the budget is
    # tight. Graft reads both; the zip format is covered by Fixtures/torch and Fixtures/models.
    torch.save(model.state_dict(), checkpoint, _use_new_zipfile_serialization=False)
    zc.pin_legacy_storage_keys(checkpoint)  # the legacy writer names storages by memory address
    state_dict = torch.load(checkpoint, weights_only=True)
    with torch.no_grad():
        logits = loaded(name, state_dict).eval()(x)
    numpy.save(OUT / f"{name}_logits.npy", logits.numpy().astype(numpy.float32))
    with torch.no_grad():
        again = loaded(name, torch.load(checkpoint, weights_only=True)).eval()(x)
        exact = loaded(name, state_dict, torch.float64).eval()(x.double())
    if not torch.equal(again, logits):
        raise AssertionError(f"{name}: reloading the checkpoint does not reproduce the logits")
    logits_dev = (logits.double() - exact).abs().max().item()
    if logits_dev > LOGIT_TOLERANCE / 5:
        raise AssertionError(f"{name}: float32 logits are {logits_dev:.2e} from float64")

    labels = torch.tensor(LABELS, dtype=torch.int64)
    grads = gradient_tensors(name, state_dict, x, labels)
    grads64 = gradient_tensors(name, state_dict, x, labels, torch.float64)
    save_safetensors(OUT / f"{name}_grad.safetensors", grads)
    grad_keys = [k for k in grads if k.startswith("grad.")]
    # Zero in exact arithmetic (a BN shift followed by a 1×1 conv and a train-mode BatchNorm, which
    # removes constant shifts): their float32 values are rounding noise, compared with an absolute bound.
    zero = [k for k in grad_keys if grads64[k].abs().max().item() <= 1e-9]
    grad_dev = deviation(grads, grads64, [k for k in grad_keys if k not in zero])
    zero_dev = deviation(grads, grads64, zero)[0] if zero else 0.0
    after_dev = deviation(grads, grads64, [k for k in grads if k.startswith("after.")])

    sgd = sgd_tensors(name, state_dict, x, labels)
    sgd64 = sgd_tensors(name, state_dict, x, labels, torch.float64)
    save_safetensors(OUT / f"{name}_sgd.safetensors", sgd)
    sgd_dev = deviation(sgd, sgd64, [k for k in sgd if k.startswith("state.")])

    peak = logits.abs().max().item()
    print(f"{name:20s} params {sum(v.numel() for v in state_dict.values()):6d}  max|logit| {peak:.3f}  f64 dev: "
          f"logits {logits_dev:.1e}, grad {grad_dev[0]:.1e} (rel {grad_dev[1]:.1e}), sgd {sgd_dev[0]:.1e}")
    return OrderedDict([
        ("config", config), ("checkpoint", checkpoint.name), ("logits", f"{name}_logits.npy"),
        ("gradients", f"{name}_grad.safetensors"), ("sgd", f"{name}_sgd.safetensors"),
        ("keys", len(state_dict)), ("parameters", len(grad_keys)), ("labels", LABELS),
        ("zero_gradient", [k[len("grad."):] for k in zero]),
        ("loss", grads["loss"].item()), ("sgd_losses", sgd["losses"].tolist()),
        ("max_abs_logit", round(peak, 6)),
        ("float64_deviation", OrderedDict([
            ("logits", float(f"{logits_dev:.3g}")), ("grad", float(f"{grad_dev[0]:.3g}")),
            ("grad_relative", float(f"{grad_dev[1]:.3g}")), ("zero_gradient", float(f"{zero_dev:.3g}")),
            ("after", float(f"{after_dev[0]:.3g}")),
            ("sgd_state", float(f"{sgd_dev[0]:.3g}")), ("sgd_state_relative", float(f"{sgd_dev[1]:.3g}"))])),
    ])


class _StateDictWeights:
    """Stands in for a WeightsEnum member: `_load_state_dict` only calls get_state_dict."""

    def __init__(self, state_dict):
        self.state_dict = state_dict

    def get_state_dict(self, progress, check_hash):
        return OrderedDict(self.state_dict)


class _KeyRecorder(nn.Module):
    def load_state_dict(self, state_dict, strict=True, assign=False):
        self.keys = list(state_dict.keys())


def legacy_key_pairs():
    """Old-style keys of the DenseNet miniature plus edge cases, and what torchvision renames them to."""
    model, _ = build("densenet_mini")
    old = []
    for key in model.state_dict():
        if not key.startswith("features.denseblock2."):
            continue
        parts = key.split(".")
        if len(parts) >= 2 and parts[-2][:4] in ("norm", "conv") and parts[-2][-1] in "12" and "denselayer" in key:
            parts[-2] = parts[-2][:-1] + "." + parts[-2][-1]
        old.append(".".join(parts))
    old += [
        "features.denseblock1.denselayer1.norm.3.weight",   # only parts 1 and 2 are renamed
        "features.denseblock1.denselayer.conv.1.weight",    # no layer number
        "features.xdenselayer12.conv.2.weight",             # the pattern's `.*` lets anything precede
        "features.denseblock2.denselayer3.relu.1.weight",   # relu is in the pattern (it has no tensors)
        "features.denseblock2.denselayer3.norm.2.num_batches_tracked",  # not in the pattern
        "features.denseblock2.denselayer3.pool.1.weight",   # not norm/relu/conv
        "denselayer7.norm.1.running_var",                    # no prefix at all
    ]
    pairs = []
    for key in old:
        # One key at a time, so each old name pairs with exactly what torchvision makes of it.
        recorder = _KeyRecorder()
        tv_densenet._load_state_dict(recorder, _StateDictWeights(OrderedDict([(key, torch.zeros(1))])), False)
        if len(recorder.keys) != 1:
            raise AssertionError(f"{key}: torchvision gave {recorder.keys}")
        pairs.append([key, recorder.keys[0]])
    return pairs


def main():
    lib.require_fixed_hash_seed()
    lib.configure_torch()
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.iterdir():
        stale.unlink()
    x = torch.randn(BATCH, 3, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(INPUT_SEED))
    calibration = torch.randn(4, 3, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(CALIBRATION_SEED))
    input_file = f"input_{BATCH}x3x{HEIGHT}x{WIDTH}.npy"
    numpy.save(OUT / input_file, x.numpy().astype(numpy.float32))
    x = torch.from_numpy(numpy.load(OUT / input_file))
    models = OrderedDict((name, make_reference(name, x, calibration)) for name in MINIATURES)
    pairs = legacy_key_pairs()
    lib.write_json(OUT / "densenet_legacy_keys.json", {
        "source": "torchvision.models.densenet._load_state_dict on these keys", "pairs": pairs})
    lib.write_json(OUT / "manifest.json", OrderedDict([
        ("generator", "tools/make_zoo_fixtures_dense.py"), ("versions", lib.versions()),
        ("input", input_file), ("labels", LABELS),
        ("sgd", OrderedDict([("steps", SGD_STEPS), ("lr", LR), ("momentum", MOMENTUM)])),
        ("logit_tolerance", LOGIT_TOLERANCE), ("models", models),
        ("legacy_keys", "densenet_legacy_keys.json")]))
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"wrote {len(models)} miniatures to {OUT}: {total} bytes (budget {BUDGET})")
    if total > BUDGET:
        raise SystemExit(f"over the {BUDGET}-byte budget")


if __name__ == "__main__":
    main()
