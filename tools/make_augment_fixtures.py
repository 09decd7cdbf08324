#!/usr/bin/env python3
"""What torchvision v2's augmentations make of the real photos, as hashes (no images: the Fixtures
budget is small).

Writes Fixtures/augment/manifest.json:
  inputs        for each photo of Fixtures/demo/real: Image.open().convert("RGB").resize(size, BILINEAR)
                at a non-square and a square size, with the sha256 of its RGB bytes
  cases         op, parameters and, for each input, the sha256 of the output's RGB bytes:
                F.rotate / F.affine / adjust_* / posterize / solarize / autocontrast / equalize,
                and ColorJitter's transform with fixed parameters (order and factors)
  op_spaces     for TrivialAugmentWide and RandAugment: each op's magnitude table (torch's float32
                values, as Python floats) and the sha256 of all its outputs, every bin with both signs
                for the signed ops, concatenated in bin order (positive then negative)
  erasing       normalize then F.erase with fixed boxes: sha256 of the float32 CHW bytes
  distributions statistics of parameters sampled by the transforms' own make_params / forward, for the
                Swift test to compare its own sampling with

Run with the project venv (torch 2.15, torchvision 0.29.2, Pillow 13.0):
    /work/main/.venv/bin/python tools/make_augment_fixtures.py
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = sorted((ROOT / "Fixtures/demo/real").glob("*.jpg"))
SIZES = {"wide": (96, 72), "square": (64, 64)}
NEAREST = v2.InterpolationMode.NEAREST


def sha(img: Image.Image) -> str:
    return hashlib.sha256(np.asarray(img, dtype=np.uint8).tobytes()).hexdigest()


def geometric_cases() -> list[tuple[str, dict]]:
    cases = [("rotate", {"angle": a}) for a in (15.0, -33.7, 90.0, -90.0, 180.0, 135.0, 0.0, 359.5, -0.4)]
    for angle, translate, scale, shear, center in (
        (0.0, [5, -3], 1.0, [0.0, 0.0], None),
        (10.0, [0, 0], 1.0, [0.0, 0.0], None),
        (-25.5, [7, 4], 0.8, [12.0, -6.0], None),
        (3.0, [-11, 2], 1.3, [0.0, 20.0], None),
        (0.0, [0, 0], 1.0, [30.0, 0.0], [0.0, 0.0]),
        (0.0, [0, 0], 1.0, [0.0, -44.0], [0.0, 0.0]),
        (0.0, [0, 0], 0.7, [0.0, 0.0], None),
        (45.0, [-3, -9], 1.1, [-8.0, 0.0], [20.0, 10.0]),
    ):
        cases.append(("affine", {"angle": angle, "translate": translate, "scale": scale, "shear": shear,
                                 "center": center}))
    for name in ("brightness", "contrast", "saturation", "sharpness"):
        cases += [(name, {"factor": f}) for f in (0.0, 0.01, 0.3, 0.73, 1.0, 1.37, 1.99, 3.5)]
    cases += [("hue", {"factor": f}) for f in (-0.5, -0.2, -0.03, 0.0, 0.1, 0.37, 0.5)]
    cases += [("posterize", {"bits": b}) for b in range(1, 9)]
    cases += [("solarize", {"threshold": t}) for t in (0.0, 76.5, 127.99999237060547, 128.0, 255.0)]
    cases += [("autocontrast", {}), ("equalize", {})]
    for order, b, c, s, h in (([0, 1, 2, 3], 1.2, 0.8, 1.3, 0.05), ([3, 2, 1, 0], 0.7, 1.4, 0.5, -0.12),
                              ([2, 0, 3, 1], 1.05, None, 0.9, None)):
        cases.append(("jitter", {"order": order, "brightness": b, "contrast": c, "saturation": s, "hue": h}))
    return cases


def apply(op: str, p: dict, img: Image.Image) -> Image.Image:
    if op == "rotate":
        return F.rotate(img, p["angle"], interpolation=NEAREST, expand=False, fill=0)
    if op == "affine":
        return F.affine(img, angle=p["angle"], translate=p["translate"], scale=p["scale"], shear=p["shear"],
                        interpolation=NEAREST, fill=0, center=p["center"])
    if op in ("brightness", "contrast", "saturation", "sharpness", "hue"):
        return getattr(F, f"adjust_{op}")(img, p["factor"])
    if op == "posterize":
        return F.posterize(img, p["bits"])
    if op == "solarize":
        return F.solarize(img, p["threshold"])
    if op == "autocontrast":
        return F.autocontrast(img)
    if op == "equalize":
        return F.equalize(img)
    if op == "jitter":
        t = v2.ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.2)
        params = {"fn_idx": torch.tensor(p["order"]), "brightness_factor": p["brightness"],
                  "contrast_factor": p["contrast"], "saturation_factor": p["saturation"], "hue_factor": p["hue"]}
        return t.transform(img, params)
    raise ValueError(op)


def op_spaces(images: dict) -> dict:
    out = {}
    for name, t in (("trivial", v2.TrivialAugmentWide()), ("randaugment", v2.RandAugment())):
        space = {}
        for op, (magnitudes_fn, signed) in t._AUGMENTATION_SPACE.items():
            entry = {"signed": signed, "magnitudes": {}, "sha256": {}}
            for key, img in images.items():
                h, w = img.size[1], img.size[0]
                mags = magnitudes_fn(t.num_magnitude_bins, h, w)
                values = [0.0] if mags is None else [float(m) for m in mags]
                if mags is not None:  # RandAugment's translate tables depend on the size
                    entry["magnitudes"][key.split("/")[1]] = values
                digest = hashlib.sha256()
                for m in values:
                    for signed_m in ([m, -m] if signed else [m]):
                        res = t._apply_image_or_video_transform(img, op, signed_m, interpolation=NEAREST,
                                                                fill=t._fill)
                        digest.update(np.asarray(res, dtype=np.uint8).tobytes())
                entry["sha256"][key] = digest.hexdigest()
            space[op] = entry
        out[name] = space
    return out


def erasing_cases(images: dict) -> list:
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    cases = []
    for key, img in images.items():
        x = F.normalize(F.to_dtype(F.pil_to_tensor(img), torch.float32, scale=True), mean, std)
        for i, j, h, w in ((0, 0, 10, 20), (5, 7, 30, 11), (img.size[1] - 9, img.size[0] - 13, 9, 13)):
            y = F.erase(x, i, j, h, w, torch.tensor([0.0])[:, None, None])
            cases.append([key, [i, j, h, w], hashlib.sha256(y.numpy().astype("<f4").tobytes()).hexdigest()])
    return cases


def stats(values) -> dict:
    a = np.asarray(values, dtype=np.float64)
    return {"n": int(a.size), "mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()),
            "max": float(a.max())}


def distributions() -> dict:
    torch.manual_seed(0)
    n = 20000
    img = Image.new("RGB", (224, 224))
    out = {"n": n}
    rot = v2.RandomRotation(15)
    out["rotate15_angle"] = stats([rot.make_params([img])["angle"] for _ in range(n)])
    aff = v2.RandomAffine(degrees=10, translate=(0.1, 0.2), scale=(0.9, 1.1), shear=(-5, 5, -3, 3))
    ps = [aff.make_params([img]) for _ in range(n)]
    out["affine"] = {"degrees": 10, "translate": [0.1, 0.2], "scale": [0.9, 1.1], "shear": [-5, 5, -3, 3],
                     "angle": stats([p["angle"] for p in ps]), "tx": stats([p["translate"][0] for p in ps]),
                     "ty": stats([p["translate"][1] for p in ps]), "scale_factor": stats([p["scale"] for p in ps]),
                     "shear_x": stats([p["shear"][0] for p in ps]), "shear_y": stats([p["shear"][1] for p in ps])}
    jit = v2.ColorJitter(0.4, 0.4, 0.4, 0.1)
    ps = [jit.make_params([img]) for _ in range(n)]
    out["jitter"] = {"arguments": [0.4, 0.4, 0.4, 0.1],
                     **{k: stats([p[f"{k}_factor"] for p in ps]) for k in ("brightness", "contrast", "saturation", "hue")},
                     "first_op_counts": np.bincount([int(p["fn_idx"][0]) for p in ps], minlength=4).tolist()}
    er = v2.RandomErasing(p=1.0)
    t = torch.zeros(3, 224, 224)
    ps = [er.make_params([t]) for _ in range(n)]
    hit = [p for p in ps if p["v"] is not None]
    out["erasing"] = {"image": [224, 224], "applied_fraction": len(hit) / n,
                      "area_fraction": stats([p["h"] * p["w"] / 224 ** 2 for p in hit]),
                      "h": stats([p["h"] for p in hit]), "w": stats([p["w"] for p in hit]),
                      "top": stats([p["i"] for p in hit]), "left": stats([p["j"] for p in hit])}
    for name, aug in (("trivial", v2.TrivialAugmentWide()), ("randaugment", v2.RandAugment())):
        seen = []
        aug._apply_image_or_video_transform = lambda image, op, m, **kw: (seen.append((op, m)), image)[1]
        for _ in range(n):
            aug(img)
        ops = list(aug._AUGMENTATION_SPACE)
        out[name] = {"ops": ops, "draws": len(seen),
                     "op_counts": [sum(1 for o, _ in seen if o == op) for op in ops],
                     "negative_fraction_of_signed": float(np.mean(
                         [m < 0 for o, m in seen if aug._AUGMENTATION_SPACE[o][1] and m != 0])),
                     "rotate_abs_magnitude": stats([abs(m) for o, m in seen if o == "Rotate"])}
    return out


def main() -> None:
    images = {}
    inputs = {}
    for photo in PHOTOS:
        base = Image.open(photo).convert("RGB")
        for size_name, size in SIZES.items():
            img = base.resize(size, Image.BILINEAR)
            key = f"{photo.stem}/{size_name}"
            images[key] = img
            inputs[key] = {"photo": photo.name, "width": size[0], "height": size[1], "sha256": sha(img)}
    cases = [{"op": op, "parameters": p, "sha256": {key: sha(apply(op, p, img)) for key, img in images.items()}}
             for op, p in geometric_cases()]
    manifest = {"pillow": PIL.__version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
                "inputs": inputs, "cases": cases, "op_spaces": op_spaces(images), "erasing": erasing_cases(images),
                "distributions": distributions()}
    out = ROOT / "Fixtures/augment/manifest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(manifest, separators=(",", ":")) + "\n")
    print(f"{out}: {len(cases)} cases, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
