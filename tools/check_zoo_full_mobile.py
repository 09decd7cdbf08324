"""Full-size references for MobileNetV2, MobileNetV3 and MNASNet (not committed, not in CI).

For every torchvision builder of the three families (mobilenet_v2, mobilenet_v3_small/large,
mnasnet0_5/0_75/1_0/1_3) it writes into .build-zoo-full/mobile/ (ignored by git):
- <arch>.pth: torch.save(state_dict) of the model with torchvision's random init (seeded), every BatchNorm
  perturbed as the miniatures' are (tools/fixturelib.perturb_model, statistics measured on the input)
  and the classifier scaled so the logits peak at 6 (tools/fixture_archs.calibrate_logits);
- <arch>_input.npy: two photographs of ../shared/fixtures/images (astronaut.png, rocket.jpg) through the
  DEFAULT weight's own eval transform (`weights.transforms()`, applied by torchvision to PIL images);
- <arch>_logits.npy: torch's float32 eval logits;
- manifest.json listing them.

Tests/GraftModelsTests/ZooMobileTests.testFullSizeModelsMatchTorch checks every size against these when the
folder exists. From the repository root (needs ../shared/fixtures/images):
    /work/main/.venv/bin/python tools/check_zoo_full_mobile.py
"""

import copy
import sys
from collections import OrderedDict
from pathlib import Path

import numpy
import torch
from PIL import Image

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixturelib as lib  # noqa: E402
from fixture_archs import calibrate_logits  # noqa: E402

OUT = lib.ROOT / ".build-zoo-full" / "mobile"
IMAGES = lib.ROOT.parent / "shared" / "fixtures" / "images"
PHOTOS = ["astronaut.png", "rocket.jpg"]
ARCHS = ["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0",
         "mnasnet1_3"]


def main():
    from torchvision import models
    lib.configure_torch()
    if not IMAGES.is_dir():
        sys.exit(f"no {IMAGES}: the photographs of ../shared/fixtures are needed")
    OUT.mkdir(parents=True, exist_ok=True)
    entries = OrderedDict()
    for i, arch in enumerate(ARCHS):
        weights = models.get_model_weights(arch).DEFAULT
        preset = weights.transforms()
        x = torch.stack([preset(Image.open(IMAGES / p).convert("RGB")) for p in PHOTOS])
        torch.manual_seed(100 + i)
        model = models.get_model(arch)
        lib.perturb_model(model, 200 + i, x)
        calibrate_logits(model, x)
        with torch.no_grad():
            logits = model(x)
            exact = copy.deepcopy(model).double()(x.double())
        torch.save(model.state_dict(), OUT / f"{arch}.pth")
        numpy.save(OUT / f"{arch}_input.npy", x.numpy().astype(numpy.float32))
        numpy.save(OUT / f"{arch}_logits.npy", logits.numpy().astype(numpy.float32))
        deviation = (logits.double() - exact).abs().max().item()
        print(f"{arch:20s} {weights}  input {tuple(x.shape)}  max|logit| {logits.abs().max().item():.3f}  "
              f"f64 deviation {deviation:.1e}")
        entries[arch] = OrderedDict([("checkpoint", f"{arch}.pth"), ("input", f"{arch}_input.npy"),
                                     ("logits", f"{arch}_logits.npy"), ("weights", str(weights)),
                                     ("float64_deviation", float(f"{deviation:.3g}"))])
    lib.write_json(OUT / "manifest.json", {"generator": "tools/check_zoo_full_mobile.py", "versions": lib.versions(),
                                           "models": entries})
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
