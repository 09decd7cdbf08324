"""Zip and pickle helpers for Graft's PyTorch fixture generator (tools/make_torch_fixtures.py).

They inspect and post-process checkpoints that generator has just written: record offsets and
alignment, the globals a pickle names, a read-back through an allowlisting unpickler, fixed storage
keys for the legacy format, and a big-endian rewrite. None of them is meant for untrusted files, and
none unpickles anything without an allowlist. Not run on its own.
"""

import collections
import io
import pickle
import pickletools
import struct
import sys
import zipfile
from pathlib import Path

import numpy
import torch

# The global names torch's weights-only unpickler lets through for plain state dicts. Used only to
# find, in a file we made on purpose, the first global a safe loader must refuse.
SAFE_GLOBAL_PREFIXES = ("torch._utils.", "torch._tensor.", "torch.nn.parameter.Parameter")
SAFE_GLOBALS = {"collections.OrderedDict", "torch.Size", "torch.device"}
SAFE_STORAGE_SUFFIX = "Storage"


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
