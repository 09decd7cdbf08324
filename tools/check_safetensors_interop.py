#!/usr/bin/env python3
"""Records what the reference safetensors implementation reads from the file Graft wrote.

Run by hand with the project venv after regenerating Fixtures/safetensors/graft_written.safetensors
(GRAFT_WRITE_FIXTURES=1 swift test --filter GraftSafetensorsTests.InteropTests):

    /work/main/.venv/bin/python tools/check_safetensors_interop.py

It loads the file with safetensors.torch.load_file and safetensors.numpy.load_file (numpy has no
bfloat16, so when load_file refuses the file, each tensor is read on its own with safe_open and
the ones numpy cannot hold are listed with the error), then saves the torch tensors again with the
reference writer and compares the layouts. The result goes to graft_written.python.json, which the
Swift test checks against the tensors Graft wrote: per-tensor dtype, shape and sha256 of the raw
little-endian bytes, the metadata, and whether the reference writer reproduces Graft's layout.
"""
import hashlib
import json
import pathlib

import numpy as np
import safetensors
import safetensors.numpy
import safetensors.torch
import torch
from safetensors import safe_open

ROOT = pathlib.Path(__file__).resolve().parent.parent
PATH = ROOT / "Fixtures" / "safetensors" / "graft_written.safetensors"
REPORT = PATH.with_name("graft_written.python.json")


def sha256(raw):
    return hashlib.sha256(raw).hexdigest()


def torch_bytes(t):
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def split(data):
    n = int.from_bytes(data[:8], "little")
    header = data[8:8 + n]
    return n, json.loads(header), data[8 + n:]


def main():
    data = PATH.read_bytes()
    report = {"file": PATH.name, "file_sha256": sha256(data), "safetensors_version": safetensors.__version__}

    tensors = safetensors.torch.load_file(str(PATH))
    with safe_open(str(PATH), framework="pt") as f:
        metadata = f.metadata() or {}
    report["metadata"] = metadata
    report["torch"] = {
        name: {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape), "sha256": sha256(torch_bytes(t))}
        for name, t in tensors.items()
    }

    arrays, unreadable = {}, {}
    try:
        arrays = safetensors.numpy.load_file(str(PATH))
        report["numpy_load_file"] = "ok"
    except Exception as error:  # numpy has no bfloat16
        report["numpy_load_file"] = f"refused: {error!r}"
        with safe_open(str(PATH), framework="numpy") as f:
            for name in f.keys():
                try:
                    arrays[name] = f.get_tensor(name)
                except Exception as inner:
                    unreadable[name] = repr(inner)
    report["numpy"] = {
        name: {"dtype": str(a.dtype), "shape": list(a.shape), "sha256": sha256(np.ascontiguousarray(a).tobytes())}
        for name, a in arrays.items()
    }
    report["numpy_unreadable"] = unreadable

    # The reference writer keeps metadata in a hash map, so its metadata order (and only that)
    # may differ between runs: compare the parsed header and the layout, not the raw header bytes.
    resaved = safetensors.torch.save(tensors, metadata=metadata)
    n1, h1, d1 = split(data)
    n2, h2, d2 = split(resaved)
    report["reference_writer_reproduces"] = {
        "same_header_length": n1 == n2,
        "same_header_json": h1 == h2,
        "same_tensor_order": [k for k in h1 if k != "__metadata__"] == [k for k in h2 if k != "__metadata__"],
        "same_data_section": d1 == d2,
    }

    with open(REPORT, "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(report["reference_writer_reproduces"]), report["numpy_load_file"])


if __name__ == "__main__":
    main()
