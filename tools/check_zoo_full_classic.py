"""Full-size references for the classic families (not in CI): .build-zoo-full/classic/ (ignored by git).

For every torchvision size — alexnet, squeezenet1_0, squeezenet1_1, googlenet, inception_v3 — it builds
torchvision's model as its pretrained weights do (GoogLeNet and Inception v3 with their aux heads and
transform_input=True), random init (seeded), then fixturelib.perturb_model (random biases and BN affine,
BN statistics measured on the input then jittered), and writes:
- <arch>.pth: torch.save(state_dict), one storage per tensor as any checkpoint;
- <arch>_input.npy: two photos of ../shared/fixtures/images through the weights' own eval transform
  (`<Arch>_Weights.IMAGENET1K_V1.transforms()`: resize, centre crop, ImageNet normalization), float32;
- <arch>_logits.npy: torch's float32 eval logits; for GoogLeNet and Inception v3 also
  <arch>_aux.npy, the aux heads' logits on the outputs torchvision feeds them (eval mode);
- manifest.json.

Checks: the classic_archs builders with torchvision's sizes (the numbers of the Swift `named` tables)
have torchvision's layout, keys and shapes; the float32 logits are within a quarter of
allclose(atol=1e-4, rtol=1e-4) of a float64 run.

Then run the Swift check:
    swift test -c release --skip-build … --filter ZooClassicFullSizeTests

From the repository root (a minute or two, ~400 MB written):
    .venv/bin/python tools/check_zoo_full_classic.py
"""

import copy
import sys
from collections import OrderedDict
from pathlib import Path

import numpy
import torch
import torchvision.models as tvm
from PIL import Image

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import classic_archs as archs  # noqa: E402
import fixturelib as lib  # noqa: E402

OUT = lib.ROOT / ".build-zoo-full" / "classic"
PHOTOS = ["astronaut.png", "rocket.jpg"]
WEIGHTS = {"alexnet": tvm.AlexNet_Weights, "squeezenet1_0": tvm.SqueezeNet1_0_Weights,
           "squeezenet1_1": tvm.SqueezeNet1_1_Weights, "googlenet": tvm.GoogLeNet_Weights,
           "inception_v3": tvm.Inception_V3_Weights}
TOLERANCE = 1e-4


def photos(transform):
    folder = lib.ROOT.parent / "shared" / "fixtures" / "images"
    return torch.stack([transform(Image.open(folder / name).convert("RGB")) for name in PHOTOS])


def aux_logits(arch, model, x):
    """The aux heads' logits in eval mode on the block outputs torchvision feeds them in training."""
    taps = {"googlenet": ["inception4a", "inception4d"], "inception_v3": ["Mixed_6e"]}.get(arch)
    if taps is None:
        return None
    outs = {}
    hooks = [getattr(model, t).register_forward_hook(lambda m, i, o, t=t: outs.__setitem__(t, o)) for t in taps]
    with torch.no_grad():
        model(x)
        if arch == "googlenet":
            result = torch.stack([model.aux1(outs["inception4a"]), model.aux2(outs["inception4d"])])
        else:
            result = model.AuxLogits(outs["Mixed_6e"])
    for h in hooks:
        h.remove()
    return result


def main():
    lib.require_fixed_hash_seed()
    lib.configure_torch()
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = OrderedDict()
    for i, (arch, (family, config)) in enumerate(archs.NAMED.items()):
        torch.manual_seed(7100 + i)
        model = archs.torchvision_model(arch).eval()
        mine = archs.build(family, config)
        archs.check_layout(mine, arch)
        if [(k, v.shape) for k, v in mine.state_dict().items()] != [(k, v.shape) for k, v in model.state_dict().items()]:
            raise AssertionError(f"{arch}: the config's shapes differ from torchvision's")
        if arch == "inception_v3":
            # PyTorch's default Linear init for fc instead of torchvision's N(0, 0.1): with the latter the
            # random network's logits reach ±24, and float32 rounding of the 2048 features (2.5e-5
            # relative after 94 convolutions, in torch as in any float32 implementation) puts torch's
            # own logits 1.3e-4 from float64 — more than the check's tolerance.
            model.fc.reset_parameters()
        weights = WEIGHTS[arch].IMAGENET1K_V1
        x = photos(weights.transforms())
        lib.perturb_model(model, seed=7200 + i, calibration_input=x)
        with torch.no_grad():
            logits = model(x)
            exact = copy.deepcopy(model).double()(x.double())
        deviation = (logits.double() - exact).abs().max().item()
        # Float32 rounding must stay under a quarter of the Swift check's allclose(atol=rtol=1e-4).
        budget = (TOLERANCE + TOLERANCE * exact.abs()) / 4
        if ((logits.double() - exact).abs() > budget).any():
            raise AssertionError(f"{arch}: float32 logits are {deviation:.2e} from float64, over a quarter of the tolerance")
        aux = aux_logits(arch, model, x)
        torch.save(model.state_dict(), OUT / f"{arch}.pth")
        numpy.save(OUT / f"{arch}_input.npy", x.numpy().astype(numpy.float32))
        numpy.save(OUT / f"{arch}_logits.npy", logits.numpy().astype(numpy.float32))
        entry = OrderedDict([("checkpoint", f"{arch}.pth"), ("input", f"{arch}_input.npy"), ("logits", f"{arch}_logits.npy")])
        if aux is not None:
            numpy.save(OUT / f"{arch}_aux.npy", aux.numpy().astype(numpy.float32))
            entry["aux_logits"] = f"{arch}_aux.npy"
        entry["transforms"] = repr(weights.transforms())
        entry["max_abs_logit"] = round(logits.abs().max().item(), 4)
        entry["float64_deviation"] = float(f"{deviation:.3g}")
        manifest[arch] = entry
        print(f"{arch:14s} input {tuple(x.shape)}  keys {len(model.state_dict()):4d}  max|logit| "
              f"{logits.abs().max().item():8.3f}  f64 deviation {deviation:.1e}")
    lib.write_json(OUT / "manifest.json", {"generator": "tools/check_zoo_full_classic.py", "versions": lib.versions(),
                                          "photos": PHOTOS, "models": manifest})


if __name__ == "__main__":
    main()
