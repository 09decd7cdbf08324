"""Record what the full-size shared checkpoints hold: Fixtures/torch/shared_fixture_hashes.json.

For resnet50.pth and efficientnet_b0.pth in ../shared/fixtures (read-only; present in CI, absent in a
fresh clone) it writes the file's sha256 and, in state_dict order, every tensor's name, stored dtype,
shape and the sha256 of its values as float32 (`t.float().contiguous()`, little-endian bytes). A Swift
test can then check a full-size import without torch, tensor by tensor, whatever dtype it converts to.
The top level holds only the checkpoint names; each entry also carries the generator and versions.

Deterministic, CPU only, a few seconds. Run from the repository root:
    /work/main/.venv/bin/python tools/record_shared_hashes.py [path/to/shared/fixtures]
"""

import hashlib
import sys
from collections import OrderedDict
from pathlib import Path

import torch

sys.dont_write_bytecode = True  # no __pycache__ next to the helpers in tools/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixturelib as lib  # noqa: E402

CHECKPOINTS = ["resnet50.pth", "efficientnet_b0.pth"]
OUT = lib.FIXTURES / "torch" / "shared_fixture_hashes.json"


def describe(path):
    # These are plain torchvision state dicts; torch's weights-only loader reads them safely.
    state_dict = torch.load(path, weights_only=True, map_location="cpu")
    tensors = []
    for name, tensor in state_dict.items():
        as_f32 = lib.tensor_bytes(tensor.float())
        tensors.append(OrderedDict(name=name, dtype=lib.dtype_name(tensor.dtype), shape=list(tensor.shape),
                                   sha256_f32=hashlib.sha256(as_f32).hexdigest()))
    return OrderedDict(sha256_file=lib.sha256_file(path), generator="tools/record_shared_hashes.py",
                       versions=lib.versions(), tensors=tensors)


def main():
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else lib.ROOT.parent / "shared" / "fixtures"
    missing = [name for name in CHECKPOINTS if not (shared / name).is_file()]
    if missing:
        sys.exit(f"{shared}: missing {', '.join(missing)}")
    record = OrderedDict()  # top-level keys are the checkpoint names only
    for name in CHECKPOINTS:
        record[name] = describe(shared / name)
        print(f"{name}: {len(record[name]['tensors'])} tensors, sha256 {record[name]['sha256_file'][:16]}…")
    lib.write_json(OUT, record)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
