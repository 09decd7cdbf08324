"""Shared helpers for Graft's fixture generators (tools/make_*_fixtures.py, tools/record_shared_hashes.py).

Nothing here runs on its own. It holds what several generators need to agree on:
- the versions block every manifest carries,
- how a tensor is hashed (its contiguous little-endian bytes in its own dtype),
- the deterministic perturbation that makes BatchNorm statistics and biases matter in the logits,
- small zip/pickle inspections used to *check* what torch wrote (never to load untrusted data).

Run the generators with the project's venv, from the repository root:
    /work/main/.venv/bin/python tools/make_torch_fixtures.py
"""

import collections
import hashlib
import importlib.metadata
import io
import json
import os
import pickle
import pickletools
import platform
import re
import struct
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Fixtures"

# torch dtype -> the manifest's dtype string (the same names as GraftCore's DType torch names).
DTYPE_NAMES = {
    torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16",
    torch.float64: "float64", torch.int64: "int64", torch.int32: "int32", torch.int16: "int16",
    torch.int8: "int8", torch.uint8: "uint8", torch.bool: "bool",
}

# The global names torch's weights-only unpickler lets through for plain state dicts. Used only to
# find, in a file we made on purpose, the first global a safe loader must refuse.
SAFE_GLOBAL_PREFIXES = ("torch._utils.", "torch._tensor.", "torch.nn.parameter.Parameter")
SAFE_GLOBALS = {"collections.OrderedDict", "torch.Size", "torch.device"}
SAFE_STORAGE_SUFFIX = "Storage"


def versions():
    """The library versions a manifest records, so a regenerated fixture can be explained."""
    def dist(name):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": dist("torchvision"),
        "timm": dist("timm"),
        "efficientnet_pytorch": dist("efficientnet_pytorch"),
        "numpy": numpy.__version__,
    }


def require_fixed_hash_seed():
    """Re-run the interpreter with PYTHONHASHSEED=0 unless it is already set.

    TorchScript writes some class constants in set-iteration order, which follows Python's string hash
    randomisation; a fixed seed makes scripted.pt byte-identical from run to run.
    """
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)


def configure_torch():
    """One thread and deterministic kernels: the references must not depend on the machine's cores."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def dtype_name(dtype):
    if dtype not in DTYPE_NAMES:
        raise ValueError(f"no manifest name for {dtype}")
    return DTYPE_NAMES[dtype]


def tensor_bytes(t):
    """The tensor's values as torch sees them, contiguous, little-endian, in its own dtype."""
    if sys.byteorder != "little":
        raise RuntimeError("fixtures are generated on little-endian machines only")
    flat = t.detach().contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes()


def tensor_record(name, t):
    """A manifest entry for one tensor: name, dtype, shape and the sha256 of its bytes."""
    return {
        "name": name,
        "dtype": dtype_name(t.dtype),
        "shape": list(t.shape),
        "sha256": hashlib.sha256(tensor_bytes(t)).hexdigest(),
    }


def tensor_records(state_dict):
    return [tensor_record(k, v) for k, v in state_dict.items()]


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_json(path, obj):
    """Stable JSON, insertion order kept (tensor lists are in state_dict order).

    Indented, except that an object or list holding no other object or list (a tensor record, a
    shape) is written on one line, so a manifest reads one tensor per line.
    """
    text = json.dumps(obj, indent=1, ensure_ascii=True)
    # json.dumps escapes newlines inside strings, so every real newline here is between tokens.
    text = re.sub(r"[\[{][^\[\]{}]*[\]}]", lambda m: re.sub(r"\n\s*", " ", m.group(0)), text)
    Path(path).write_text(text + "\n")


def perturb_model(model, seed):
    """Move every BatchNorm away from identity and give every bias a non-zero value.

    Freshly initialised networks have BN weight 1, bias 0, mean 0, var 1, and torchvision zeroes many
    conv/linear biases. A Swift graph that forgets a BN term, uses the wrong eps or drops a bias would
    still match such a network. After this, each of those mistakes shows in the logits.
    num_batches_tracked gets distinct non-zero values so a reader that mixes buffers up is caught.
    """
    gen = torch.Generator().manual_seed(seed)

    def uniform(shape, low, high):
        return torch.rand(shape, generator=gen) * (high - low) + low

    counter = 0
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.weight.copy_(uniform(n, 0.6, 1.4))
                module.bias.copy_(uniform(n, -0.3, 0.3))
                module.running_mean.copy_(uniform(n, -0.2, 0.2))
                module.running_var.copy_(uniform(n, 0.3, 1.3))
                counter += 1
                module.num_batches_tracked.fill_(1000 + 17 * counter)
            elif isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
                module.bias.copy_(uniform(module.bias.shape, -0.1, 0.1))


# --- zip and pickle inspection (of files these scripts wrote) ---------------------------------------

def zip_records(path):
    """(name, data offset, size) of every record, from the local headers, in archive order."""
    out = []
    raw = Path(path).read_bytes()
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            start = info.header_offset
            if raw[start:start + 4] != b"PK\x03\x04":
                raise ValueError(f"{path}: no local header at {start}")
            name_len, extra_len = struct.unpack_from("<HH", raw, start + 26)
            out.append((info.filename, start + 30 + name_len + extra_len, info.file_size))
    return out


def read_record(path, name):
    """A stored record's bytes straight from its offset (no CRC check: crc_disabled.pth has none)."""
    for record, offset, size in zip_records(path):
        if record == name:
            with open(path, "rb") as f:
                f.seek(offset)
                return f.read(size)
    raise KeyError(f"{path}: no record {name}")


def assert_aligned(path, alignment=64):
    """Every record's data starts on a 64-byte boundary, as torch's writer guarantees."""
    for name, offset, _ in zip_records(path):
        if offset % alignment != 0:
            raise AssertionError(f"{path}: record {name} data at {offset} is not {alignment}-aligned")


def archive_prefix(path):
    with zipfile.ZipFile(path) as zf:
        return zf.infolist()[0].filename.split("/")[0]


def pickle_globals(pickle_bytes):
    """Every global the pickle names, as 'module.name', in stream order (GLOBAL and STACK_GLOBAL)."""
    names, strings = [], []
    for op, arg, _ in pickletools.genops(pickle_bytes):
        if op.name == "GLOBAL":
            module, name = arg.split(" ", 1)
            names.append(f"{module}.{name}")
        elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            strings.append(arg)
        elif op.name == "STACK_GLOBAL":
            names.append(f"{strings[-2]}.{strings[-1]}")
    return names


def is_safe_global(qualified):
    if qualified in SAFE_GLOBALS or qualified.startswith(SAFE_GLOBAL_PREFIXES):
        return True
    module, _, name = qualified.rpartition(".")
    return module == "torch" and (name.endswith(SAFE_STORAGE_SUFFIX) or isinstance(
        getattr(torch, name, None), torch.dtype))


def first_disallowed_global(pickle_bytes):
    for qualified in pickle_globals(pickle_bytes):
        if not is_safe_global(qualified):
            return qualified
    return None


def data_pickle(path):
    """The data.pkl of a zip checkpoint."""
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith("/data.pkl")]
        if len(names) != 1:
            raise ValueError(f"{path}: expected one data.pkl, found {names}")
        return zf.read(names[0])



# --- a restricted unpickler for reading back the fixtures we wrote -----------------------------------

# Globals a plain state dict (and the wrappers made here) may name. torch resolves storage classes
# itself before asking the pickle module.
READ_BACK_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
}


def restricted_pickle_module(extra_globals=None):
    """A pickle module for torch.load(weights_only=False, pickle_module=...) that allowlists globals.

    torch's own weights-only loader rejects pickle protocol 4 ("Unsupported operand 149"), so the
    protocol-4 fixture is read back through this instead; it refuses every global not listed, which
    keeps the read-back as safe as weights_only while accepting every opcode.
    """
    allowed = dict(READ_BACK_GLOBALS)
    allowed.update(extra_globals or {})

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) not in allowed:
                raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
            return allowed[(module, name)]

    def load(file, **kwargs):
        return Unpickler(file, **kwargs).load()

    return type(sys)("restricted_pickle"), Unpickler, load


def read_back(path, extra_globals=None):
    """torch.load through the restricted unpickler (never an unrestricted one)."""
    module, unpickler, load = restricted_pickle_module(extra_globals)
    module.Unpickler, module.load = unpickler, load
    return torch.load(path, weights_only=False, pickle_module=module)

# --- big-endian rewrite of a zip checkpoint ---------------------------------------------------------

# Element size of each legacy storage class torch names in a persistent id.
STORAGE_ITEM_SIZES = {
    "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "DoubleStorage": 8, "LongStorage": 8,
    "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
}


class _StorageScan(pickle.Unpickler):
    """Reads a plain tensor dict's pickle only to learn each storage key's element size.

    Globals other than the handful a plain state dict uses are refused, and the tensor rebuild is a
    no-op, so nothing in the pickle is executed. Works for zip (5-tuple) and legacy (6-tuple) ids.
    """

    def __init__(self, file):
        super().__init__(file)
        self.item_sizes = {}

    def find_class(self, module, name):
        if module == "torch" and name in STORAGE_ITEM_SIZES:
            return name
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda *args: None
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        self.item_sizes[pid[2]] = STORAGE_ITEM_SIZES[pid[1]]


class _PlainUnpickler(pickle.Unpickler):
    """For the small header pickles of the legacy format: plain data, no globals at all."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")


def pin_legacy_storage_keys(path):
    """Replace the address-valued storage keys of a legacy-format file with fixed ones.

    torch's legacy writer names each storage `str(storage._cdata)`, a memory address, and writes the
    data section in the sorted order of those names, so two runs write different bytes. This renames
    the storages by first use (same string length, so the main pickle keeps its layout), re-pickles
    the sorted key list as torch does, and reorders the data section to match.
    """
    raw = Path(path).read_bytes()
    stream = io.BytesIO(raw)
    for _ in range(3):  # magic number, protocol version, sys_info
        _PlainUnpickler(stream).load()
    main_start = stream.tell()
    scan = _StorageScan(stream)
    scan.load()
    list_start = stream.tell()
    keys = _PlainUnpickler(stream).load()
    position = stream.tell()
    width = len(keys[0])
    if sorted(keys) != keys or set(keys) != set(scan.item_sizes) or any(len(k) != width for k in keys):
        raise ValueError(f"{path}: unexpected legacy storage keys")
    chunks = {}
    for key in keys:  # each storage: 8-byte little-endian element count, then the elements
        count = int.from_bytes(raw[position:position + 8], "little")
        end = position + 8 + count * scan.item_sizes[key]
        chunks[key] = raw[position:end]
        position = end
    if position != len(raw):
        raise ValueError(f"{path}: {len(raw) - position} unexpected bytes after the data section")
    renamed = {key: str(10 ** (width - 1) + rank) for rank, key in enumerate(scan.item_sizes)}
    main = raw[main_start:list_start]
    for key, new in renamed.items():
        tag = b"X" + struct.pack("<I", width)
        if main.count(tag + key.encode()) < 1:
            raise ValueError(f"{path}: key {key} not found in the main pickle")
        main = main.replace(tag + key.encode(), tag + new.encode())
    order = sorted(renamed, key=renamed.get)
    out = raw[:main_start] + main + pickle.dumps([renamed[k] for k in order], protocol=2)
    out += b"".join(chunks[k] for k in order)
    Path(path).write_bytes(out)


def _write_aligned(zout, raw, name, data):
    """Write one stored record whose data starts on a 64-byte boundary, padded like torch ('FB' extra)."""
    header = 30 + len(name.encode("utf-8")) + 4
    pad = -(raw.tell() + header) % 64
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
    zout.writestr(info, data)


def rewrite_big_endian(src, dst):
    """Copy a zip checkpoint with `byteorder` = big and every storage byte-swapped per element.

    torch has no switch to write big-endian files, but its loader honours the record: on a
    little-endian machine it swaps each storage back, so the values torch.load returns are unchanged.
    """
    with zipfile.ZipFile(src) as zin:
        infos = zin.infolist()
        prefix = infos[0].filename.split("/")[0]
        scan = _StorageScan(io.BytesIO(zin.read(f"{prefix}/data.pkl")))
        scan.load()
        with open(dst, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zout:
            for info in infos:
                data = zin.read(info)
                record = info.filename[len(prefix) + 1:]
                if record == "byteorder":
                    data = b"big"
                elif record.startswith("data/"):
                    size = scan.item_sizes[record[len("data/"):]]
                    if size > 1:
                        data = numpy.frombuffer(data, dtype=f"<u{size}").byteswap().tobytes()
                _write_aligned(zout, raw, info.filename, data)


# --- tensors for the layout and dtype fixtures ------------------------------------------------------

def view_tensors():
    """Tensors whose storage is not one plain contiguous block: what a reader must materialise."""
    t = torch.arange(12, dtype=torch.float32).reshape(4, 3) * 0.5 - 1.0
    x = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) / 8.0
    base = torch.arange(8, dtype=torch.float32) * 1.25
    column = torch.tensor([[1.0], [-2.0], [3.5]])
    return OrderedDict([
        ("a", t),                                   # contiguous, shares its storage with "b"
        ("b", t[1:].t()),                           # transposed view of rows 1..3: offset 3, stride (1, 3)
        ("fortran", x.permute(2, 1, 0)),            # Fortran order: stride (1, 4, 12)
        ("expanded", column.expand(3, 4)),          # stride 0 along the last axis
        ("slice", base[2:5]),                       # storage offset 2 into an 8-element storage
        ("scalar", torch.tensor(7)),                # 0-dim int64
        ("empty", torch.zeros(2, 0)),               # no elements
    ])


def dtype_tensors():
    """One small tensor per supported dtype, with values that catch sign, width and rounding errors."""
    return OrderedDict([
        ("float32", torch.tensor([[1.5, -2.25, 3.0e-8], [1.0e30, -0.0, 0.1]], dtype=torch.float32)),
        ("float16", torch.tensor([1.0, -0.5, 65504.0, 6.0e-8, 0.1, -0.0], dtype=torch.float16)),
        ("bfloat16", torch.tensor([1.0, -3.140625, 1.0e30, 1.0e-30, 0.1], dtype=torch.bfloat16)),
        ("float64", torch.tensor([1.0 / 3.0, -1.0e300, 2.5], dtype=torch.float64)),
        ("int64", torch.tensor([0, -1, 2**40, -(2**62), 2**63 - 1], dtype=torch.int64)),
        ("int32", torch.tensor([[0, -1], [2**31 - 1, -(2**31)]], dtype=torch.int32)),
        ("int16", torch.tensor([-32768, 32767, 7], dtype=torch.int16)),
        ("int8", torch.tensor([-128, 127, 0, -5], dtype=torch.int8)),
        ("uint8", torch.tensor([0, 255, 128, 1], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True], dtype=torch.bool)),
        ("zero_dim", torch.tensor(-1.5, dtype=torch.float32)),
    ])
