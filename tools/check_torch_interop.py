"""Check that PyTorch reads what Graft writes, and record the checked bytes.

For every loadable checkpoint in Fixtures/torch/manifest.json this script runs the release `graft`:
  graft export Fixtures/torch/<f> <tmp>/<stem>_export.pth      -> torch.load(weights_only=True)
  graft convert Fixtures/torch/<f> <tmp>/<stem>.safetensors     -> safetensors.torch.load_file
and checks that torch sees exactly the tensors the manifest recorded (names, dtypes, shapes, sha256 of
the bytes). It then writes Fixtures/torch/interop_check.json with the sha256 of each file it checked.
The Swift test `TorchInteropTests` regenerates the same files and asserts they are byte-identical, so
the files PyTorch verified are the files Graft still writes.

Run from the repository root after `swift build -c release --product graft`:
  .venv/bin/python tools/check_torch_interop.py
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file

GRAFT = ".build/release/graft"
MANIFEST = "Fixtures/torch/manifest.json"
OUT = "Fixtures/torch/interop_check.json"


def tensor_sha(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return hashlib.sha256(t.numpy().tobytes()).hexdigest()


def file_sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check(loaded, expected, label):
    assert isinstance(loaded, dict), f"{label}: {type(loaded)}"
    names = [t["name"] for t in expected]
    assert sorted(loaded.keys()) == sorted(names), f"{label}: names differ"
    for t in expected:
        v = loaded[t["name"]]
        assert str(v.dtype).replace("torch.", "") == t["dtype"], f"{label}: {t['name']} dtype {v.dtype}"
        assert list(v.shape) == t["shape"], f"{label}: {t['name']} shape {v.shape}"
        assert tensor_sha(v) == t["sha256"], f"{label}: {t['name']} bytes differ"


def main():
    manifest = json.load(open(MANIFEST))["files"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, entry in sorted(manifest.items()):
            if "tensors" not in entry:
                continue
            stem = os.path.splitext(name)[0]
            flags = ["--allow-missing-crc"] if entry.get("crc32") is False else []
            exported = os.path.join(tmp, f"{stem}_export.pth")
            converted = os.path.join(tmp, f"{stem}.safetensors")
            subprocess.run([GRAFT, "export", f"Fixtures/torch/{name}", exported, *flags], check=True, capture_output=True)
            subprocess.run([GRAFT, "convert", f"Fixtures/torch/{name}", converted, *flags], check=True, capture_output=True)
            check(torch.load(exported, weights_only=True), entry["tensors"], f"{name} export")
            check(load_file(converted), entry["tensors"], f"{name} convert")
            results[name] = {"export": f"{stem}_export.pth", "export_sha256": file_sha(exported),
                             "convert": f"{stem}.safetensors", "convert_sha256": file_sha(converted)}
            print(f"ok {name}")
    info = {"generator": "tools/check_torch_interop.py",
            "versions": {"python": sys.version.split()[0], "torch": torch.__version__},
            "checked": "torch.load(weights_only=True) and safetensors.torch.load_file read every file with the "
                       "manifest's names, dtypes, shapes and bytes",
            "files": results}
    with open(OUT, "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{len(results)} files checked -> {OUT}")


if __name__ == "__main__":
    main()
