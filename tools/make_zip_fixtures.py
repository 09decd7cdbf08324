#!/usr/bin/env python3
"""Makes the tiny zip fixtures of GraftZipTests (Fixtures/zip/). Run by hand, never in CI:

    /path/to/venv/bin/python tools/make_zip_fixtures.py

Needs torch (torch.save writes the real checkpoints). Every archive is read back with Python's own
zipfile module and described in Fixtures/zip/manifest.json (names, sizes, CRCs, data offsets and, for
small members, the bytes), so the Swift tests compare GraftZip against an independent reader.
"""
import io
import json
import os
import struct
import zipfile

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "zip")


def tiny_state():
    """A small state dict with the dtypes and shapes a checkpoint has (incl. a 0-dim tensor)."""
    return {
        "conv.weight": torch.arange(12, dtype=torch.float32).reshape(2, 1, 2, 3) / 4,
        "conv.bias": torch.tensor([0.5, -1.25], dtype=torch.float32),
        "bn.num_batches_tracked": torch.tensor(7, dtype=torch.int64),
        "half": torch.tensor([1.0, -2.0, 0.5], dtype=torch.float16),
    }


def pattern(n):
    """Deterministic, mildly compressible bytes; the Swift tests rebuild them as (i * 7 + i / 256) % 256."""
    return bytes(((i * 7) + (i >> 8)) & 0xFF for i in range(n))


def describe(path):
    """What Python's zipfile sees in an archive."""
    with open(path, "rb") as f:
        raw = f.read()
    entries = []
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            (name_len, extra_len) = struct.unpack_from("<HH", raw, info.header_offset + 26)
            data_offset = info.header_offset + 30 + name_len + extra_len
            entry = {
                "name": info.filename,
                "size": info.file_size,
                "compressedSize": info.compress_size,
                "crc32": info.CRC,
                "method": info.compress_type,
                "dataOffset": data_offset,
            }
            if info.file_size <= 4096 and info.compress_type == zipfile.ZIP_STORED:
                # Straight from the file, so records whose CRC field is 0 are described too.
                entry["hex"] = raw[data_offset:data_offset + info.file_size].hex()
            elif info.file_size <= 4096 and info.compress_type == zipfile.ZIP_DEFLATED:
                entry["hex"] = z.read(info.filename).hex()
            entries.append(entry)
    return {"fileSize": len(raw), "entries": entries}


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {}

    # torch.save to a path: the record prefix is the file's base name without extension.
    path = os.path.join(OUT, "tiny_state.pth")
    torch.save(tiny_state(), path, pickle_protocol=4)
    manifest["tiny_state.pth"] = describe(path)

    # torch.save to a buffer: the prefix is "archive".
    buf = io.BytesIO()
    torch.save(tiny_state(), buf, pickle_protocol=4)
    path = os.path.join(OUT, "tiny_buffer.pth")
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    manifest["tiny_buffer.pth"] = describe(path)

    # CRC32 switched off: torch writes 0 in every CRC field (style_safety.md A5).
    torch.serialization.set_crc32_options(False)
    try:
        buf = io.BytesIO()
        torch.save(tiny_state(), buf, pickle_protocol=4)
    finally:
        torch.serialization.set_crc32_options(True)
    path = os.path.join(OUT, "tiny_nocrc.pth")
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    manifest["tiny_nocrc.pth"] = describe(path)

    # DEFLATE members next to stored ones, an empty member and a directory entry.
    path = os.path.join(OUT, "deflated.zip")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("weights/"), b"")
        z.writestr("weights/pattern.bin", pattern(65536), compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("weights/empty.bin", b"", compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("weights/stored.bin", pattern(100), compress_type=zipfile.ZIP_STORED)
        z.writestr("notes/ünïcode.txt", "grüße\n".encode(), compress_type=zipfile.ZIP_DEFLATED)
    manifest["deflated.zip"] = describe(path)

    # Methods GraftZip does not read (style_safety.md A14).
    path = os.path.join(OUT, "bzip2.zip")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("stored.txt", b"plain\n", compress_type=zipfile.ZIP_STORED)
        z.writestr("packed.bin", pattern(1000), compress_type=zipfile.ZIP_BZIP2)
    manifest["bzip2.zip"] = describe(path)

    path = os.path.join(OUT, "lzma.zip")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("packed.bin", pattern(1000), compress_type=zipfile.ZIP_LZMA)
    manifest["lzma.zip"] = describe(path)

    # A torch-style archive written by another tool: records not 64-byte aligned (A21).
    path = os.path.join(OUT, "unaligned.zip")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/x", b"\x01\x02\x03", compress_type=zipfile.ZIP_STORED)
        z.writestr("archive/data/0", struct.pack("<5f", 1.0, -2.0, 3.5, 0.25, 1e-3))
    manifest["unaligned.zip"] = describe(path)

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
