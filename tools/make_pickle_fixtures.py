#!/usr/bin/env python3
"""Generates the small pickle fixtures under Fixtures/pickle/ for GraftPickleTests.

Run by hand (never in CI) with the project venv:
    /work/main/.venv/bin/python tools/make_pickle_fixtures.py
Made with: Python 3.11.7, torch 2.15.0, torchvision 0.29.2, pickle protocols 0-5 (the versions
are printed on every run; note any change in the commit that regenerates the files).

Files:
  nested_p{0,2,4,5}.pkl      one nested value (NESTED below) at four protocols; the tests assert the
                             decoded PickleValue, the same for every protocol.
  ordered_dict_metadata.pkl  an OrderedDict with a `_metadata` attribute, as torch state dicts carry.
  writer_fast_p2.pkl         WRITER_VALUE pickled by CPython with memoization off (Pickler.fast); the
                             Swift PickleWriter must produce these exact bytes.
  torch_state_dict.pkl       data.pkl of torch.save(Conv2d+BatchNorm2d state dict), protocol 2.
  torch_state_dict_p4.pkl    the same with pickle_protocol=4 (FRAME, MEMOIZE, STACK_GLOBAL, ...).
  torch_adam_state.pkl       data.pkl of an Adam optimizer state_dict after one step.
  legacy_linear.pt           torch.save(Linear(2, 2) state dict, _use_new_zipfile_serialization=False):
                             five concatenated pickles and the raw storages (its storage keys are
                             memory addresses, so this file differs on every run).
  resnet152_checkpoint.pkl   data.pkl of a training checkpoint {"model": torchvision resnet152 state
                             dict, "optimizer": Adam state after one step, "epoch": 3} (~230 KB): the
                             size check for the default limits and decoding speed.
It also checks Fixtures/pickle/writer_state_dict.pkl (written by the Swift PickleWriter, see
PickleWriterTests) with torch.load(weights_only=True) and records what torch decoded in
writer_state_dict.torch.txt.
"""
import collections
import io
import os
import pickle
import pickletools
import sys
import zipfile

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Fixtures", "pickle")

SHARED = [1, 2]
NESTED = {
    "none": None,
    "true": True,
    "false": False,
    "ints": [0, 1, -1, 255, 256, 65535, 65536, -65536, 2**31 - 1, -2**31, 2**31, 2**63 - 1, -2**63],
    "bigints": [2**63, -2**63 - 1, 2**64, -2**70, 10**40],
    "floats": [0.0, 1.5, -2.5e-300, 1e300, float("inf"), float("-inf")],
    "strings": ["", "plain", "tab\tnew\nline\r", "back\\slash", "caf\u00e9 \u2713 \U0001F642", "x" * 300],
    "bytes": [b"", b"\x00\xffabc", bytes(range(256))],
    "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
    "nested": {"a": [{"b": (1, [2, {"c": None}])}]},
    "shared": [SHARED, SHARED],
    "set": {1, 2, 3},
    "frozenset": frozenset({4, 5}),
    7: "int key",
    (1, "t"): "tuple key",
}

WRITER_VALUE = {
    "ints": [0, 255, 256, 65535, 65536, -1, -2**31, 2**31 - 1, 2**31, -2**31 - 1, 2**63 - 1, -2**63],
    "big": [2**64, -2**70],
    "floats": [0.5, -1e-300, float("inf")],
    "text": ["", "caf\u00e9 \u2713"],
    "bytes": b"\x00\x80\xffz",
    "flags": [True, False, None],
    "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4, 5)],
    "one": [7],
    "long_list": list(range(1001)),
    "wide": {str(i): i for i in range(1003)},
}


def fast_dumps(value, protocol=2):
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol)
    p.fast = True
    p.dump(value)
    return buf.getvalue()


def save(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


def data_pkl(obj, **kwargs):
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        return z.read(name)


def main():
    print(f"Python {sys.version.split()[0]}, torch {torch.__version__}, "
          f"torchvision {torchvision.__version__}")
    os.makedirs(OUT, exist_ok=True)
    for protocol in (0, 2, 4, 5):
        save(f"nested_p{protocol}.pkl", pickle.dumps(NESTED, protocol))

    od = collections.OrderedDict([("weight", 1), ("bias", 2)])
    od._metadata = collections.OrderedDict([("", {"version": 1}), ("0", {"version": 2})])
    save("ordered_dict_metadata.pkl", pickle.dumps(od, 2))

    save("writer_fast_p2.pkl", fast_dumps(WRITER_VALUE))

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    save("torch_state_dict.pkl", data_pkl(model.state_dict()))
    save("torch_state_dict_p4.pkl", data_pkl(model.state_dict(), pickle_protocol=4))

    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    model(torch.randn(1, 3, 5, 5)).sum().backward()
    opt.step()
    save("torch_adam_state.pkl", data_pkl(opt.state_dict()))

    linear = torch.nn.Linear(2, 2)
    buf = io.BytesIO()
    torch.save(linear.state_dict(), buf, _use_new_zipfile_serialization=False)
    save("legacy_linear.pt", buf.getvalue())

    resnet = torchvision.models.resnet152()
    adam = torch.optim.Adam(resnet.parameters())
    for p in resnet.parameters():
        p.grad = torch.zeros_like(p)
    adam.step()
    save("resnet152_checkpoint.pkl",
         data_pkl({"model": resnet.state_dict(), "optimizer": adam.state_dict(), "epoch": 3}))

    check_writer_fixture()


def check_writer_fixture():
    """torch.load(weights_only=True) of the Swift writer's state dict, zipped with two storages.

    What torch decoded is written next to it, writer_state_dict.torch.txt, as the record that
    the writer's output is a loadable checkpoint.
    """
    path = os.path.join(OUT, "writer_state_dict.pkl")
    if not os.path.exists(path):
        print("writer_state_dict.pkl not present yet (run the Swift tests first)")
        return
    with open(path, "rb") as f:
        pkl = f.read()
    pickletools.dis(pkl, out=io.StringIO())  # raises on any malformed opcode
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
        z.writestr("archive/data/0", torch.arange(6, dtype=torch.float32).numpy().tobytes())
        z.writestr("archive/data/1", torch.tensor([5], dtype=torch.int64).numpy().tobytes())
    zbuf.seek(0)
    state_dict = torch.load(zbuf, weights_only=True)
    lines = [f"torch {torch.__version__}: torch.load(weights_only=True) -> {type(state_dict).__name__}"]
    for k, v in state_dict.items():
        lines.append(f"{k}: {v.dtype} {tuple(v.shape)} {v.tolist()}")
    with open(os.path.join(OUT, "writer_state_dict.torch.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join("   " + line for line in lines))


if __name__ == "__main__":
    main()
