"""Full-size references for a group of torchvision architectures:
- "dense": every DenseNet, ShuffleNet V2 and RegNet size (23);
- "core": every ResNet / ResNeXt / Wide ResNet, VGG and EfficientNet (B0–B7, V2 S/M/L) size (29).

For each architecture this builds torchvision's model with a seeded random init, gives its BatchNorm
layers trained-looking, perturbed statistics and affine terms (fixturelib.perturb_model, calibrated on
the input below), and writes into .build-zoo-full/<group>/ (ignored by git, never committed):
- <arch>.pth: torch.save(model.state_dict()) (zip format);
- <arch>_input.npy: float32 (2, 3, S, S): astronaut.png and rocket.jpg from ../shared/fixtures/images
  through the DEFAULT weights' eval preset (`weights.transforms()` on PIL images);
- <arch>_logits.npy: float32 eval-mode logits; <arch>_logits_f64.npy: the same network in float64 (stored as float32);
- manifest.json: per arch the weights whose preset made the input, the input shape, max |logit|, the
  float32 logits' deviation from the same network in float64, and torch's eval time for the batch
  (median of 3, the thread count given by --threads).

ZooDenseFullSizeTests and ZooFullSizeDetectionTests (Tests/GraftModelsTests) run when the folders
exist and check every arch against these logits (atol + rtol 1e-4), the second with the architecture
detected from the keys. Not for CI: it takes tens of minutes and ~8 GB of memory at the largest
(regnet_y_128gf, 645 M parameters, input 384×384). Usage, from the repository root:
    OMP_NUM_THREADS=2 .venv/bin/python tools/check_zoo_full.py --group dense|core [--only ARCH …] [--threads 2]
        [--skip-float64 ARCH …]
"""

import argparse
import copy
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy
import torch
import torchvision.models as tvm
from PIL import Image

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixturelib as lib  # noqa: E402

IMAGES = lib.ROOT.parent / "shared" / "fixtures" / "images"
PHOTOS = ["astronaut.png", "rocket.jpg"]
GROUPS = {
    "dense": (["densenet121", "densenet161", "densenet169", "densenet201"]
              + ["shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"]
              + [f"regnet_x_{s}" for s in ["400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf"]]
              + [f"regnet_y_{s}" for s in ["400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf", "128gf"]]),
    "core": (["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
              "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]
             + [f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")]
             + [f"efficientnet_b{i}" for i in range(8)] + [f"efficientnet_v2_{s}" for s in "sml"]),
}
SEEDS = {"dense": 8100, "core": 8300}


def photo_batch(weights):
    preset = weights.transforms()
    return torch.stack([preset(Image.open(IMAGES / p).convert("RGB")) for p in PHOTOS])


def make(arch, index, threads, float64, out, seed):
    weights = tvm.get_model_weights(arch).DEFAULT
    x = photo_batch(weights)
    torch.manual_seed(seed + index)
    model = tvm.get_model(arch)
    lib.perturb_model(model, seed + 100 + index, x)
    model.eval()
    torch.save(model.state_dict(), out / f"{arch}.pth")
    numpy.save(out / f"{arch}_input.npy", x.numpy().astype(numpy.float32))
    torch.set_num_threads(threads)
    times = []
    with torch.no_grad():
        for _ in range(3):
            start = time.perf_counter()
            logits = model(x)
            times.append(time.perf_counter() - start)
    torch.set_num_threads(1)
    numpy.save(out / f"{arch}_logits.npy", logits.numpy().astype(numpy.float32))
    deviation = None
    if float64:
        with torch.no_grad():
            exact = copy.deepcopy(model).double()(x.double())
        deviation = (logits.double() - exact).abs().max().item()
        # The exact answer too: where torch's own float32 rounding is near the tolerance (the deepest
        # ResNets), an engine is judged by its distance from this as well.
        numpy.save(out / f"{arch}_logits_f64.npy", exact.float().numpy())  # float32 rounding (~3e-7) is far below 1e-4
        del exact
    entry = OrderedDict([
        ("weights", f"{type(weights).__name__}.{weights.name}"), ("input_shape", list(x.shape)),
        ("parameters", sum(p.numel() for p in model.parameters())),
        ("max_abs_logit", round(logits.abs().max().item(), 6)),
        ("float64_deviation", None if deviation is None else float(f"{deviation:.3g}")),
        ("torch_seconds", round(sorted(times)[1], 4)), ("torch_threads", threads),
    ])
    shown = "-" if deviation is None else f"{deviation:.1e}"
    print(f"{arch:20s} {entry['weights']:44s} input {x.shape[-1]}  max|logit| {entry['max_abs_logit']:8.3f}  "
          f"f64 dev {shown}  torch {entry['torch_seconds']:.3f}s", flush=True)
    return entry


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--group", choices=sorted(GROUPS), default="dense")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-float64", nargs="*", default=[])
    args = parser.parse_args()
    lib.configure_torch()
    archs, seed = GROUPS[args.group], SEEDS[args.group]
    out = lib.ROOT / ".build-zoo-full" / args.group
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    models = OrderedDict()
    if manifest_path.exists():
        import json
        models.update(json.loads(manifest_path.read_text())["models"])
    for index, arch in enumerate(archs):
        if args.only is not None and arch not in args.only:
            continue
        models[arch] = make(arch, index, args.threads, arch not in args.skip_float64, out, seed)
        ordered = OrderedDict((a, models[a]) for a in archs if a in models)
        lib.write_json(manifest_path, OrderedDict([
            ("generator", f"tools/check_zoo_full.py --group {args.group}"), ("versions", lib.versions()),
            ("photos", PHOTOS), ("tolerance", {"atol": 1e-4, "rtol": 1e-4}), ("models", ordered)]))


if __name__ == "__main__":
    main()
