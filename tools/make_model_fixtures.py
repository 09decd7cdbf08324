"""Make the model-zoo references: Fixtures/models/<name>_logits.npy, <name>.pth, input_*.npy, manifest.json.

For every miniature in tools/fixture_archs.py (torchvision ResNet/ResNeXt/Wide-ResNet/VGG/EfficientNet
V1 and V2, timm EfficientNet-B0, ResNet and TF-EfficientNet-Lite0, efficientnet_pytorch B0) it writes
the eval-mode logits torch computes for a fixed random float32 NCHW input (batch 2) and the checkpoint
in the library's native key names. Models fed the same input size share one input file,
input_2x3x<size>x<size>.npy (one `torch.randn` with a fixed seed per size), which keeps Fixtures/ small;
each manifest entry names its input file. Miniatures that tools/make_torch_fixtures.py already saved
are not saved again: their entry points at ../torch/<name>.pth, and the logits are computed from that
very file. The manifest's `config` holds every number a parametric builder needs.

Checks made on every reference:
- a fresh model (different init seed) loaded from the checkpoint reproduces the saved logits bit for
  bit;
- the same network in float64 agrees with the float32 logits to 2.5e-5, a quarter of the 1e-4 parity
  tolerance, so the reference is not dominated by float32 rounding;
- every model with BatchNorm is sensitive to its BN eps: swapping 1e-5 and 1e-3 moves some logit by
  more than 1e-3, ten times the tolerance, so a wrong eps cannot pass.

Deterministic (fixed seeds, one thread), CPU only, a few seconds. Run tools/make_torch_fixtures.py
first, then, from the repository root:
    /work/main/.venv/bin/python tools/make_model_fixtures.py
"""

import copy
import sys
from collections import OrderedDict
from pathlib import Path

import numpy
import torch
from torch import nn

sys.dont_write_bytecode = True  # no __pycache__ next to the helpers in tools/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixturelib as lib  # noqa: E402
from fixture_archs import MINIATURES, make_miniature  # noqa: E402

OUT = lib.FIXTURES / "models"
TORCH_DIR = lib.FIXTURES / "torch"
MODELS = [
    "resnet18_mini", "resnet50_mini", "resnext_mini", "wide_resnet_mini", "vgg11_mini", "vgg11_bn_mini",
    "efficientnet_b0_mini", "efficientnet_b5_like_mini", "efficientnet_v2_s_mini",
    "timm_efficientnet_b0_mini", "timm_resnet_mini", "timm_tf_efficientnet_lite0_mini",
    "effnet_pytorch_b0_mini",
]
BATCH = 2
INPUT_SEED = 2024
TOLERANCE = 1e-4
MIN_EPS_SENSITIVITY = 10 * TOLERANCE
MAX_FLOAT64_DEVIATION = TOLERANCE / 4


def checkpoint_for(name, model):
    """The checkpoint path (relative to Fixtures/models) and the state dict it holds."""
    shared = TORCH_DIR / f"{name}.pth"
    if shared.exists():
        return f"../torch/{name}.pth", torch.load(shared, weights_only=True)
    path = OUT / f"{name}.pth"
    torch.save(model.state_dict(), path)
    return f"{name}.pth", torch.load(path, weights_only=True)


def fresh_model(name, state_dict):
    """The same architecture with a different random init, then the checkpoint loaded strictly."""
    entry = MINIATURES[name]
    torch.manual_seed(entry["seed"] + 5000)
    model, _ = entry["build"]()
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


def eps_sensitivity(model, x, logits):
    """Largest logit change when every BatchNorm's eps is swapped (1e-5 <-> 1e-3); None without BN."""
    probe = copy.deepcopy(model)
    norms = [m for m in probe.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return None
    for norm in norms:
        norm.eps = 1e-3 if norm.eps < 1e-4 else 1e-5
    with torch.no_grad():
        return (probe(x) - logits).abs().max().item()


def float64_deviation(model, x, logits):
    """Largest difference between the float32 logits and the same network run in float64."""
    with torch.no_grad():
        exact = copy.deepcopy(model).double()(x.double())
    return (logits.double() - exact).abs().max().item()


def shared_input(size):
    """The input file for a square size (written on first use) and its tensor."""
    name = f"input_{BATCH}x3x{size}x{size}.npy"
    if not (OUT / name).exists():
        x = torch.randn(BATCH, 3, size, size, generator=torch.Generator().manual_seed(INPUT_SEED + size))
        numpy.save(OUT / name, x.numpy().astype(numpy.float32))
    return name, torch.from_numpy(numpy.load(OUT / name))


def make_reference(name):
    entry = MINIATURES[name]
    model, config = make_miniature(name)
    checkpoint, state_dict = checkpoint_for(name, model)
    model.load_state_dict(state_dict, strict=True)
    input_file, x = shared_input(entry["input_size"])
    with torch.no_grad():
        logits = model(x)

    numpy.save(OUT / f"{name}_logits.npy", logits.numpy().astype(numpy.float32))
    with torch.no_grad():
        again = fresh_model(name, torch.load(OUT / checkpoint, weights_only=True))(
            torch.from_numpy(numpy.load(OUT / input_file)))
    if not torch.equal(again, torch.from_numpy(numpy.load(OUT / f"{name}_logits.npy"))):
        raise AssertionError(f"{name}: reloading {checkpoint} does not reproduce the saved logits")
    deviation = float64_deviation(model, x, logits)
    if deviation > MAX_FLOAT64_DEVIATION:
        raise AssertionError(f"{name}: float32 logits are {deviation:.2e} away from float64")
    sensitivity = eps_sensitivity(model, x, logits)
    if sensitivity is not None and sensitivity < MIN_EPS_SENSITIVITY:
        raise AssertionError(f"{name}: BN eps moves the logits by only {sensitivity:.2e}")

    peak = logits.abs().max().item()
    shown = "no BN" if sensitivity is None else f"{sensitivity:.2e}"
    print(f"{name:34s} max|logit| {peak:6.3f}  f64 deviation {deviation:.1e}  "
          f"eps sensitivity {shown:>8s}  {checkpoint}")
    return OrderedDict([
        ("checkpoint", checkpoint), ("naming", entry["naming"]), ("family", entry["family"]),
        ("config", config), ("input", input_file), ("logits", f"{name}_logits.npy"),
        ("input_shape", list(x.shape)), ("logits_shape", list(logits.shape)),
        ("max_abs_logit", round(peak, 6)), ("float64_deviation", float(f"{deviation:.3g}")),
        ("eps_sensitivity", None if sensitivity is None else float(f"{sensitivity:.3g}")),
    ])


def main():
    lib.require_fixed_hash_seed()
    lib.configure_torch()
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob("input_*.npy"):
        stale.unlink()
    if not (TORCH_DIR / "manifest.json").exists():
        sys.exit("run tools/make_torch_fixtures.py first: some references reuse its checkpoints")
    models = OrderedDict((name, make_reference(name)) for name in MODELS)
    lib.write_json(OUT / "manifest.json", {
        "generator": "tools/make_model_fixtures.py", "versions": lib.versions(),
        "tolerance": TOLERANCE, "models": models})
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"wrote {len(models)} references + manifest.json to {OUT} ({total / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main()
