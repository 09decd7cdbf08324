#!/usr/bin/env python3
"""Small image fixtures for GraftImage and what Pillow / Keras make of them.

Writes Fixtures/images/:
  *.png, *.jpg       synthetic images in every PNG flavour (grey 1/2/4/8/16 bit, grey+alpha,
                     RGB, RGBA, 16-bit, palette with/without tRNS and short palettes, Adam7) and
                     JPEG flavour (4:2:0, 4:2:2, 4:4:4, progressive, greyscale, CMYK (Adobe
                     inverted), YCCK, RGB without transform, restart markers), odd sizes, 1xN
  hostile/*          broken files (truncated, bad CRC, huge or zero dimensions, ...)
  raw/*.rgb          raw RGB bytes of a few resizes, so a failing test can show where it differs
  keras_*.npy        keras preprocess_input(img_to_array(load_img(...))) for the three modes, NCHW
  manifest.json      for every image: Pillow's mode, sha256 of convert("RGB") bytes and of
                     resize((w, h), filter) for several sizes per filter, as [filter, w, h, sha256];
                     the same for the three photos in ../shared/fixtures/images when present

Run with the project venv (Pillow 13.0, keras 3.15 with KERAS_BACKEND=torch):
    /work/main/.venv/bin/python tools/make_image_fixtures.py
The YCCK JPEG is written by a 40-line C program compiled against the system libjpeg (cc -ljpeg),
since Pillow cannot write YCCK.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import warnings
import zlib
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
# Pillow suggests converting palette images with alpha bytes to RGBA; convert("RGB") is the point here.
warnings.filterwarnings("ignore", message="Palette images with Transparency")
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Fixtures" / "images"
SHARED = ROOT.parent / "shared" / "fixtures" / "images"

FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
    "lanczos": Image.Resampling.LANCZOS,
}


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------- synthetic content

def synth(w: int, h: int, seed: int, channels: int = 3, maximum: int = 255) -> np.ndarray:
    """Gradients + hard-edged blocks (overshoot for bicubic/lanczos) + noise, as uint16/uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for c in range(channels):
        g = (x * (c + 1) * 7 + y * (3 - c % 3) * 5) / max(w * 7 + h * 5, 1)
        blocks = (((x // 5) + (y // 4) + c) % 2) * 0.6
        noise = rng.random((h, w)) * 0.35
        v = (g * 0.5 + blocks + noise) / 1.45
        planes.append(np.clip(np.round(v * maximum), 0, maximum))
    a = np.stack(planes, axis=-1)
    return a.astype(np.uint16 if maximum > 255 else np.uint8)


def smooth(w: int, h: int, seed: int) -> np.ndarray:
    """Smoother content that still compresses small at larger sizes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    r = 128 + 100 * np.sin(x / 7.0) * np.cos(y / 11.0)
    g = 255 * x / max(w - 1, 1)
    b = np.where(((x // 16) + (y // 16)) % 2 == 0, 230, 25) + rng.integers(-20, 21, (h, w))
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- a PNG writer with every option

def chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    c = zlib.crc32(kind + data) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", c)


def pack_row(row: np.ndarray, bits: int) -> bytes:
    if bits == 16:
        return row.astype(">u2").tobytes()
    if bits == 8:
        return row.astype(np.uint8).tobytes()
    per = 8 // bits
    out = bytearray((len(row) * bits + 7) // 8)
    for i, v in enumerate(row):
        out[i // per] |= int(v) << (8 - bits * (i % per + 1))
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png_bytes(samples: np.ndarray, color_type: int, bits: int, plte=None, trns=None,
              interlace=False, extra: bytes = b"") -> bytes:
    """samples: (h, w, c) array of raw sample values. Filter type 0 on every row is valid PNG."""
    h, w, c = samples.shape
    raw = bytearray()
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for (x0, y0, dx, dy) in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in sub.reshape(sub.shape[0], -1):
            raw += b"\x00" + pack_row(row, bits)
    ihdr = struct.pack(">IIBBBBB", w, h, bits, color_type, 0, 0, 1 if interlace else 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if plte is not None:
        out += chunk(b"PLTE", bytes(plte))
    if trns is not None:
        out += chunk(b"tRNS", bytes(trns))
    return out + extra + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")


def png_images() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    W, H = 37, 29
    rgb = synth(W, H, 1)
    files["png_rgb8_37x29.png"] = png_bytes(rgb, 2, 8)
    files["png_rgb8_adam7_37x29.png"] = png_bytes(rgb, 2, 8, interlace=True)
    files["png_rgb8_trns_37x29.png"] = png_bytes(rgb, 2, 8, trns=struct.pack(">HHH", *rgb[0, 0]))
    rgba = synth(W, H, 2, channels=4)
    files["png_rgba8_37x29.png"] = png_bytes(rgba, 6, 8)
    files["png_rgba8_adam7_37x29.png"] = png_bytes(rgba, 6, 8, interlace=True)
    files["png_rgb16_23x17.png"] = png_bytes(synth(23, 17, 3, maximum=65535), 2, 16)
    files["png_rgba16_23x17.png"] = png_bytes(synth(23, 17, 4, channels=4, maximum=65535), 6, 16)
    files["png_rgba16_adam7_23x17.png"] = png_bytes(synth(23, 17, 4, channels=4, maximum=65535), 6, 16,
                                                     interlace=True)
    for bits in (1, 2, 4, 8):
        g = synth(W, H, 10 + bits, channels=1, maximum=(1 << bits) - 1)
        files[f"png_gray{bits}_37x29.png"] = png_bytes(g, 0, bits)
    files["png_gray2_adam7_37x29.png"] = png_bytes(synth(W, H, 12, channels=1, maximum=3), 0, 2, interlace=True)
    g8 = synth(W, H, 18, channels=1)
    files["png_gray8_trns_37x29.png"] = png_bytes(g8, 0, 8, trns=struct.pack(">H", int(g8[0, 0, 0])))
    # 16-bit grey spans the whole range, so most values saturate at 255 in Pillow's conversion;
    # the second one stays below 256 so the low byte is what shows.
    files["png_gray16_37x29.png"] = png_bytes(synth(W, H, 16, channels=1, maximum=65535), 0, 16)
    low = synth(W, H, 17, channels=1, maximum=300).astype(np.uint16)
    files["png_gray16_low_37x29.png"] = png_bytes(low, 0, 16, trns=struct.pack(">H", 7))
    files["png_graya8_37x29.png"] = png_bytes(synth(W, H, 19, channels=2), 4, 8)
    files["png_graya16_23x17.png"] = png_bytes(synth(23, 17, 20, channels=2, maximum=65535), 4, 16)
    rng = np.random.default_rng(7)
    for bits in (1, 2, 4, 8):
        n = 1 << bits
        pal = rng.integers(0, 256, size=3 * n, dtype=np.uint8).tolist()
        idx = synth(W, H, 30 + bits, channels=1, maximum=n - 1).astype(np.uint8)
        files[f"png_pal{bits}_37x29.png"] = png_bytes(idx, 3, bits, plte=pal)
    pal = rng.integers(0, 256, size=3 * 256, dtype=np.uint8).tolist()
    idx = synth(W, H, 40, channels=1).astype(np.uint8)
    alphas = rng.integers(0, 256, 100, dtype=np.uint8).tolist()
    files["png_pal8_trns_37x29.png"] = png_bytes(idx, 3, 8, plte=pal, trns=alphas)
    files["png_pal8_adam7_37x29.png"] = png_bytes(idx, 3, 8, plte=pal, interlace=True)
    # Only 5 palette entries for 4-bit indices up to 15: Pillow shows the missing ones as black.
    short = synth(W, H, 41, channels=1, maximum=15).astype(np.uint8)
    files["png_pal4_short_37x29.png"] = png_bytes(short, 3, 4, plte=pal[:15], trns=[0, 255])
    files["png_rgb8_1x40.png"] = png_bytes(synth(1, 40, 50), 2, 8)
    files["png_rgb8_40x1.png"] = png_bytes(synth(40, 1, 51), 2, 8)
    files["png_rgb8_64x48.png"] = png_bytes(synth(64, 48, 52), 2, 8)
    files["png_rgb8_160x120.png"] = png_bytes(smooth(160, 120, 53), 2, 8)
    # Ancillary chunks that must not change the pixels: gAMA, a text chunk, pHYs.
    extra = chunk(b"gAMA", struct.pack(">I", 45455)) + chunk(b"tEXt", b"Comment\x00graft") + \
        chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1))
    files["png_rgb8_ancillary_37x29.png"] = png_bytes(rgb, 2, 8, extra=extra)
    return files


# ---------------------------------------------------------------- JPEGs

YCCK_WRITER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
/* usage: ycck W H < cmyk.raw > out.jpg  -- CMYK in, stored as YCCK with an Adobe marker */
int main(int argc, char **argv) {
    int w = atoi(argv[1]), h = atoi(argv[2]);
    unsigned char *buf = malloc((size_t)w * h * 4);
    if (fread(buf, 4, (size_t)w * h, stdin) != (size_t)w * h) return 1;
    struct jpeg_compress_struct c; struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e); jpeg_create_compress(&c); jpeg_stdio_dest(&c, stdout);
    c.image_width = w; c.image_height = h; c.input_components = 4; c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c); jpeg_set_colorspace(&c, JCS_YCCK); jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = buf + (size_t)c.next_scanline * w * 4; jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c); jpeg_destroy_compress(&c); return 0;
}
"""


def ycck_jpeg(cmyk: np.ndarray) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        src, exe = Path(d) / "ycck.c", Path(d) / "ycck"
        src.write_text(YCCK_WRITER)
        subprocess.run(["cc", "-O1", "-o", str(exe), str(src), "-ljpeg"], check=True)
        h, w, _ = cmyk.shape
        return subprocess.run([str(exe), str(w), str(h)], input=cmyk.tobytes(), capture_output=True,
                              check=True).stdout


def jpeg(im: Image.Image, **options) -> bytes:
    b = io.BytesIO()
    im.save(b, "JPEG", **options)
    return b.getvalue()


def jpeg_images() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    rgb = Image.fromarray(synth(37, 29, 60))
    big = Image.fromarray(smooth(65, 49, 61))
    files["jpeg_420_37x29.jpg"] = jpeg(rgb, quality=90, subsampling="4:2:0")
    files["jpeg_422_37x29.jpg"] = jpeg(rgb, quality=90, subsampling="4:2:2")
    files["jpeg_444_37x29.jpg"] = jpeg(rgb, quality=90, subsampling="4:4:4")
    files["jpeg_420_65x49.jpg"] = jpeg(big, quality=75, subsampling="4:2:0")
    files["jpeg_progressive_65x49.jpg"] = jpeg(big, quality=85, progressive=True)
    files["jpeg_optimized_restarts_65x49.jpg"] = jpeg(big, quality=80, optimize=True, restart_marker_rows=1)
    files["jpeg_rgb_no_transform_37x29.jpg"] = jpeg(rgb, quality=90, keep_rgb=True)
    files["jpeg_gray_37x29.jpg"] = jpeg(Image.fromarray(synth(37, 29, 62, channels=1)[..., 0]), quality=90)
    files["jpeg_gray_progressive_37x29.jpg"] = jpeg(Image.fromarray(synth(37, 29, 63, channels=1)[..., 0]),
                                                    quality=90, progressive=True)
    cmyk = synth(37, 29, 64, channels=4)
    files["jpeg_cmyk_37x29.jpg"] = jpeg(Image.fromarray(cmyk, "CMYK"), quality=90)
    files["jpeg_ycck_37x29.jpg"] = ycck_jpeg(cmyk)
    files["jpeg_420_1x40.jpg"] = jpeg(Image.fromarray(synth(1, 40, 65)), quality=90)
    files["jpeg_420_40x1.jpg"] = jpeg(Image.fromarray(synth(40, 1, 66)), quality=90)
    return files


# ---------------------------------------------------------------- hostile files

def hostile_images(png_ok: bytes, jpg_ok: bytes, jpg_progressive: bytes) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    files["empty.png"] = b""
    files["bad_magic.png"] = b"GIF89a" + png_ok[6:]
    files["png_signature_only.png"] = png_ok[:8]
    files["png_truncated_idat.png"] = png_ok[: len(png_ok) // 2]
    ihdr_at = 8
    body = png_ok[ihdr_at + 8: ihdr_at + 8 + 13]

    def with_ihdr(w: int, h: int, depth: int = 8, color: int = 2, valid_crc: bool = True) -> bytes:
        data = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0)
        c = None if valid_crc else 0x12345678
        return png_ok[:ihdr_at] + chunk(b"IHDR", data, c) + png_ok[ihdr_at + 25:]

    files["png_huge_dimensions.png"] = with_ihdr(1 << 30, 1 << 30)
    files["png_pixel_bomb.png"] = with_ihdr(30000, 30000)
    files["png_zero_width.png"] = with_ihdr(0, 29)
    files["png_bad_depth.png"] = with_ihdr(37, 29, depth=3)
    files["png_bad_color_type.png"] = with_ihdr(37, 29, color=5)
    files["png_ihdr_bad_crc.png"] = with_ihdr(37, 29, valid_crc=False)
    assert body == struct.pack(">IIBBBBB", 37, 29, 8, 2, 0, 0, 0)
    # Valid data, wrong checksum on a critical chunk.
    idat = png_ok.index(b"IDAT")
    length = struct.unpack(">I", png_ok[idat - 4: idat])[0]
    crc_at = idat + 4 + length
    files["png_idat_bad_crc.png"] = png_ok[:crc_at] + bytes([png_ok[crc_at] ^ 0xFF]) + png_ok[crc_at + 1:]
    # Corrupt compressed data with a recomputed CRC: now zlib sees a broken stream.
    data = bytearray(png_ok[idat + 4: idat + 4 + length])
    data[2:6] = b"\xff\xff\xff\xff"
    rest = png_ok[idat + 8 + length:]
    files["png_corrupt_zlib.png"] = png_ok[: idat - 4] + chunk(b"IDAT", bytes(data)) + rest
    files["png_no_idat.png"] = png_ok[: idat - 4] + chunk(b"IEND", b"")
    palette_no_plte = png_bytes(np.zeros((4, 4, 1), np.uint8), 3, 8)
    files["png_palette_without_plte.png"] = palette_no_plte
    files["jpeg_truncated_header.jpg"] = jpg_ok[:40]
    files["jpeg_truncated_scan.jpg"] = jpg_ok[: len(jpg_ok) * 2 // 3]
    files["jpeg_progressive_truncated.jpg"] = jpg_progressive[: len(jpg_progressive) // 2]
    sof = jpg_ok.index(b"\xff\xc0")

    def with_sof(precision: int | None = None, h: int | None = None, w: int | None = None) -> bytes:
        b = bytearray(jpg_ok)
        if precision is not None:
            b[sof + 4] = precision
        if h is not None:
            b[sof + 5: sof + 7] = struct.pack(">H", h)
        if w is not None:
            b[sof + 7: sof + 9] = struct.pack(">H", w)
        return bytes(b)

    files["jpeg_huge_dimensions.jpg"] = with_sof(h=65000, w=65000)
    files["jpeg_zero_width.jpg"] = with_sof(w=0)
    files["jpeg_12bit_precision.jpg"] = with_sof(precision=12)
    files["jpeg_soi_only.jpg"] = b"\xff\xd8\xff\xd9"
    files["jpeg_garbage_after_soi.jpg"] = b"\xff\xd8\xff" + bytes(range(256)) * 4
    return files


# ---------------------------------------------------------------- what Pillow makes of them

def resize_targets(w: int, h: int) -> list[tuple[int, int]]:
    """Down, up, mixed, one axis only, and down to 1 pixel."""
    t = [(max(1, w // 2), max(1, h // 2)), (max(1, w // 3 + 1), max(1, (h * 2) // 5)), (w * 2 + 3, h * 2 + 1),
         (max(1, w * 3 // 2), max(1, h // 3)), (w, max(1, h // 2 + 3)), (max(1, w - 3), h), (1, 1)]
    out = []
    for s in t:
        if s != (w, h) and s not in out:
            out.append(s)
    return out


def describe(path: Path, data: bytes | None, raw_cases: dict[str, list[tuple[str, int, int]]]) -> dict:
    im = Image.open(path if data is None else io.BytesIO(data))
    mode = im.mode
    rgb = im.convert("RGB")
    entry = {"mode": mode, "width": rgb.width, "height": rgb.height, "rgb_sha256": sha(rgb.tobytes()),
             "resizes": []}
    for name, f in FILTERS.items():
        for (w, h) in resize_targets(rgb.width, rgb.height):
            r = rgb.resize((w, h), f)
            entry["resizes"].append([name, w, h, sha(r.tobytes())])
    for (name, w, h) in raw_cases.get(path.name, []):
        r = rgb.resize((w, h), FILTERS[name])
        raw_name = f"raw/{path.stem}_{name}_{w}x{h}.rgb"
        (OUT / raw_name).write_bytes(r.tobytes())
        entry.setdefault("raw", []).append({"filter": name, "width": w, "height": h, "file": raw_name})
    return entry


def shared_photo_entry(path: Path) -> dict:
    rgb = Image.open(path).convert("RGB")
    entry = {"width": rgb.width, "height": rgb.height, "rgb_sha256": sha(rgb.tobytes()), "resizes": []}
    w, h = rgb.size
    targets = []
    for side, f in ((256, "bilinear"), (232, "bilinear"), (256, "bicubic"), (384, "bilinear")):
        s = min(w, h)
        nw, nh = (side, int(side * h / w)) if w <= h else (int(side * w / h), side)
        targets.append((f, nw, nh))
    targets += [("nearest", 224, 224), ("lanczos", 300, 200), ("box", 150, 100), ("hamming", 97, 131),
                ("bicubic", w * 2 // 3 + 1, h + 7)]
    for (f, nw, nh) in targets:
        r = rgb.resize((nw, nh), FILTERS[f])
        entry["resizes"].append([f, nw, nh, sha(r.tobytes())])
    return entry


def keras_outputs(path: Path, target: tuple[int, int]) -> dict:
    from keras.applications import imagenet_utils
    from keras.utils import img_to_array, load_img
    img = load_img(str(path), target_size=target)
    out = {}
    for mode in ("caffe", "tf", "torch"):
        x = img_to_array(img)
        assert x.dtype == np.float32
        y = imagenet_utils.preprocess_input(x.copy(), mode=mode)
        y = np.ascontiguousarray(y.astype(np.float32).transpose(2, 0, 1)[None])
        name = f"keras_{mode}.npy"
        np.save(OUT / name, y)
        out[mode] = name
    return {"image": path.name, "target_height": target[0], "target_width": target[1],
            "interpolation": "nearest", "outputs": out}


def compact_json(value, indent: str = "") -> str:
    """Indented JSON whose innermost lists (the resize records) stay on one line."""
    inner = indent + " "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {compact_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and value and any(isinstance(v, (list, dict)) for v in value):
        return "[\n" + ",\n".join(inner + compact_json(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "hostile").mkdir(exist_ok=True)
    (OUT / "raw").mkdir(exist_ok=True)
    for old in list(OUT.glob("*.png")) + list(OUT.glob("*.jpg")) + list((OUT / "hostile").glob("*")) + \
            list((OUT / "raw").glob("*")) + list(OUT.glob("*.npy")):
        old.unlink()
    images = {**png_images(), **jpeg_images()}
    for name, data in images.items():
        (OUT / name).write_bytes(data)
    hostile = hostile_images(images["png_rgb8_37x29.png"], images["jpeg_420_65x49.jpg"],
                             images["jpeg_progressive_65x49.jpg"])
    for name, data in hostile.items():
        (OUT / "hostile" / name).write_bytes(data)

    raw_cases = {
        "png_rgb8_64x48.png": [("bilinear", 23, 17), ("bicubic", 23, 17), ("bicubic", 131, 97)],
        "jpeg_420_37x29.jpg": [("lanczos", 50, 20)],
    }
    manifest = {
        "generator": "tools/make_image_fixtures.py",
        "pillow": Image.__version__,
        "images": {name: describe(OUT / name, None, raw_cases) for name in sorted(images)},
        "hostile": sorted(hostile),
        "keras": keras_outputs(OUT / "png_rgb8_64x48.png", (40, 50)),
        "shared_photos": {},
    }
    if SHARED.is_dir():
        for p in sorted(SHARED.iterdir()):
            manifest["shared_photos"][p.name] = shared_photo_entry(p)
    else:
        print(f"note: {SHARED} is absent, shared photo hashes not recorded", file=sys.stderr)
    (OUT / "manifest.json").write_text(compact_json(manifest) + "\n")
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {len(images)} images, {len(hostile)} hostile files to {OUT} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
