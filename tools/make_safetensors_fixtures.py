#!/usr/bin/env python3
"""Writes the small safetensors interoperability fixtures into Fixtures/safetensors/.

Run by hand with the project venv (never in CI):

    /work/main/.venv/bin/python tools/make_safetensors_fixtures.py

Files written:
  torch_all_dtypes.safetensors  safetensors.torch.save_file: all 10 Graft dtypes (bf16 and bool
                                included), empty and 0-rank tensors, one metadata key (so the
                                reference writer's bytes are reproducible: it keeps metadata in a
                                hash map, whose order varies between runs)
  numpy_dtypes.safetensors      safetensors.numpy.save_file: every dtype numpy has (no bf16), an
                                empty and a 0-rank tensor, a non-ASCII name and several metadata
                                strings that need escapes
  fixtures.json                 per file: writer, metadata, tensor names in file order, and per
                                tensor the dtype, shape and sha256 of its raw little-endian bytes

The Swift tests (GraftSafetensorsTests/InteropTests.swift) read every tensor and check each hash.
Values are fixed (a seeded generator plus hand-picked edge values), so a rerun gives the same
tensors; the torch file is byte-identical across runs, the numpy file's metadata order may differ.
"""
import hashlib
import json
import math
import pathlib

import numpy as np
import torch
from safetensors.numpy import save_file as numpy_save_file
from safetensors.torch import save_file as torch_save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Fixtures" / "safetensors"


def torch_tensors():
    g = torch.Generator().manual_seed(20240601)
    return {
        "conv1.weight": torch.randn(4, 3, 3, 3, generator=g),
        "f32.special": torch.tensor(
            [0.0, -0.0, math.inf, -math.inf, math.nan, 1e-45, 3.4028234663852886e38, 1.5], dtype=torch.float32),
        "f16": torch.tensor([1.0, -2.5, 65504.0, 6e-8, 0.0, -0.0, math.inf], dtype=torch.float16),
        "bf16": torch.randn(3, 4, generator=g).to(torch.bfloat16),
        "f64": torch.tensor([math.pi, -1e300, 5e-324], dtype=torch.float64),
        "i64": torch.tensor([-(2**63), -1, 0, 1, 2**63 - 1], dtype=torch.int64),
        "i32": torch.tensor([-(2**31), 7, 2**31 - 1], dtype=torch.int32),
        "i16": torch.tensor([[-32768, 0], [1, 32767]], dtype=torch.int16),
        "i8": torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
        "u8": torch.arange(0, 256, 37).to(torch.uint8),
        "mask": torch.tensor([[True, False, True], [False, False, True]]),
        "empty": torch.zeros(0, 3),
        "empty.i16": torch.zeros(2, 0, 5, dtype=torch.int16),
        "scalar": torch.tensor(3.5),
        "scalar.bool": torch.tensor(True),
        "bn.num_batches_tracked": torch.tensor(123456789, dtype=torch.int64),
    }


def numpy_tensors():
    rng = np.random.default_rng(7)
    return {
        "weight": rng.standard_normal((2, 3, 4)).astype(np.float32),
        "half": np.array([0.5, -1.0, 2.0**-24], dtype=np.float16),
        "double": rng.standard_normal(5).astype(np.float64),
        "long": np.array([-5, 2**40], dtype=np.int64),
        "int": np.array([[1, -2], [3, -4]], dtype=np.int32),
        "short": np.array([-300, 300], dtype=np.int16),
        "byte": np.array([-7, 7], dtype=np.int8),
        "ubyte": np.array([0, 128, 255], dtype=np.uint8),
        "flags": np.array([True, False, True, True]),
        "nothing": np.zeros((0,), dtype=np.float32),
        "one": np.array(42, dtype=np.int32),
        "ñame/with \"quotes\" & ünïcödé": np.array([1.25], dtype=np.float32),
    }


NUMPY_METADATA = {
    "format": "np",
    "note": "line one\nline two\t\"quoted\" \\ backslash / slash",
    "unicode": "héllo wörld 😀 \u0001",
    "empty": "",
}


def raw_bytes(value):
    if isinstance(value, torch.Tensor):
        return value.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    return np.ascontiguousarray(value).tobytes()


def describe(path, writer, tensors, metadata):
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    order = sorted(header, key=lambda k: tuple(header[k]["data_offsets"]))
    entries = {}
    for name, value in tensors.items():
        info = header[name]
        raw = raw_bytes(value)
        begin, end = info["data_offsets"]
        assert data[8 + n + begin:8 + n + end] == raw, name
        entries[name] = {"dtype": info["dtype"], "shape": info["shape"],
                         "sha256": hashlib.sha256(raw).hexdigest()}
    return {"writer": writer, "metadata": metadata or {}, "names_in_file_order": order,
            "file_sha256": hashlib.sha256(data).hexdigest(), "tensors": entries}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {}

    path = OUT / "torch_all_dtypes.safetensors"
    tensors, metadata = torch_tensors(), {"format": "pt"}
    torch_save_file(tensors, str(path), metadata=metadata)
    manifest[path.name] = describe(path, "safetensors.torch.save_file", tensors, metadata)

    path = OUT / "numpy_dtypes.safetensors"
    tensors = numpy_tensors()
    numpy_save_file(tensors, str(path), metadata=NUMPY_METADATA)
    manifest[path.name] = describe(path, "safetensors.numpy.save_file", tensors, NUMPY_METADATA)

    with open(OUT / "fixtures.json", "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    for name, info in manifest.items():
        print(f"{name}: {len(info['tensors'])} tensors, sha256 {info['file_sha256'][:16]}…")


if __name__ == "__main__":
    main()
