"""Make the PyTorch-importer fixtures: Fixtures/torch/*.pth, scripted.pt and manifest.json.

What it makes (each file is described in Fixtures/README.md):
- miniature state dicts, `torch.save(model.state_dict())`: resnet18_mini, resnet50_mini, vgg11_mini,
  vgg11_bn_mini, efficientnet_b0_mini, efficientnet_v2_s_mini (architectures: tools/fixture_archs.py);
- format variants of resnet18_mini: legacy stream, fp16, bf16, pickle protocol 4, renamed archive,
  saved through a buffer, CRC disabled, torchvision-style hash names (right and wrong prefix), and a
  big-endian rewrite of dtypes.pth;
- checkpoint wrappers around resnet_micro: DataParallel + optimizer, torch.compile key naming, EMA,
  numpy scalar;
- tensor layouts (views.pth) and one tensor per dtype (dtypes.pth);
- files a safe loader must refuse: scripted.pt, full_model.pth, evil_reduce.pth, namespace_args.pth.

Every loadable file is read back with torch.load through an allowlisting unpickler (torch's own
weights_only loader cannot read pickle protocol 4), normalised as its manifest entry says, and its
tensors are hashed again: the manifest states what torch itself sees. Whether torch's weights_only
loader accepts each file is recorded too. No file is ever unpickled without an allowlist.
Deterministic (fixed seeds, one thread), CPU only, about half a minute.

Run from the repository root:
    /work/main/.venv/bin/python tools/make_torch_fixtures.py
"""

import argparse
import codecs
import copy
import io
import os
import shutil
import sys
import tempfile
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy
import torch
from torch import nn

sys.dont_write_bytecode = True  # no __pycache__ next to the helpers in tools/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixture_containers as zc  # noqa: E402
import fixturelib as lib  # noqa: E402
from fixture_archs import MINIATURES, make_miniature  # noqa: E402

OUT = lib.FIXTURES / "torch"
CANARY = Path("/tmp/graft-canary-evil-reduce")
SAVED_MINIATURES = ["resnet18_mini", "resnet50_mini", "vgg11_mini", "vgg11_bn_mini",
                    "efficientnet_b0_mini", "efficientnet_v2_s_mini"]
PLAIN = {"unwrapped": None, "stripped_prefixes": [], "dropped": []}


class Manifest:
    """Collects the manifest entries and checks each against what torch.load returns."""

    def __init__(self):
        self.files = OrderedDict()
        self.source_models = OrderedDict()

    def note_model(self, name, config):
        entry = MINIATURES[name]
        self.source_models[name] = {"family": entry["family"], "naming": entry["naming"], "config": config}

    def loadable(self, name, tensors, normalization=PLAIN, extra_globals=None, **extra):
        path = OUT / name
        entry = OrderedDict()
        if zipfile.is_zipfile(path):
            zc.assert_aligned(path)
            prefix = zc.archive_prefix(path)
            byteorder = zc.read_record(path, f"{prefix}/byteorder").decode()
            entry.update(format="zip", prefix=prefix, byteorder=byteorder)
        else:
            entry.update(format="legacy", byteorder="little")
        entry["sha256_file"] = lib.sha256_file(path)
        entry["torch_weights_only_load"] = _weights_only_loads(path)
        entry.update(extra)
        entry["tensors"] = lib.tensor_records(tensors)
        entry["normalization"] = normalization
        seen = lib.tensor_records(_normalize(zc.read_back(path, extra_globals), normalization))
        if seen != entry["tensors"]:
            raise AssertionError(f"{name}: torch.load disagrees with the manifest")
        self.files[name] = entry
        return entry

    def refused(self, name, error, detail=None):
        path = OUT / name
        if _weights_only_loads(path):
            raise AssertionError(f"{name}: torch.load(weights_only=True) accepted a file meant to be refused")
        entry = OrderedDict(expect_error=error)
        if detail is not None:
            entry["detail"] = detail
        entry["sha256_file"] = lib.sha256_file(path)
        entry["torch_weights_only_load"] = False
        self.files[name] = entry

    def write(self):
        lib.write_json(OUT / "manifest.json", {
            "generator": "tools/make_torch_fixtures.py", "versions": lib.versions(),
            "source_models": self.source_models, "files": self.files})


def _weights_only_loads(path):
    """Whether torch's own safe loader accepts the file as it is (no allowlist additions)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.load(path, weights_only=True)
        return True
    except Exception:  # noqa: BLE001 - any refusal counts; the kind is recorded elsewhere
        return False


def _normalize(obj, normalization):
    """What Graft must do to reach the tensors: pick the wrapper key, strip key prefixes."""
    if normalization["unwrapped"] is not None:
        obj = obj[normalization["unwrapped"]]
    out = OrderedDict()
    for key, value in obj.items():
        for prefix in normalization["stripped_prefixes"]:
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        out[key] = value
    return out


def save_miniatures(manifest):
    models = {}
    for name in SAVED_MINIATURES:
        model, config = make_miniature(name)
        torch.save(model.state_dict(), OUT / f"{name}.pth")
        manifest.note_model(name, config)
        manifest.loadable(f"{name}.pth", model.state_dict(), source_model=name)
        models[name] = model
    return models


def save_format_variants(manifest, model):
    sd = model.state_dict()
    base = OUT / "resnet18_mini.pth"

    def variant(name, tensors=sd, **extra):
        manifest.loadable(name, tensors, source_model="resnet18_mini", **extra)

    torch.save(sd, OUT / "resnet18_mini_legacy.pth", _use_new_zipfile_serialization=False)
    zc.pin_legacy_storage_keys(OUT / "resnet18_mini_legacy.pth")
    variant("resnet18_mini_legacy.pth")
    half = copy.deepcopy(model).half().state_dict()
    torch.save(half, OUT / "resnet18_mini_fp16.pth")
    variant("resnet18_mini_fp16.pth", half)
    bf16 = copy.deepcopy(model).bfloat16().state_dict()
    torch.save(bf16, OUT / "resnet18_mini_bf16.pth")
    variant("resnet18_mini_bf16.pth", bf16)
    torch.save(sd, OUT / "resnet18_mini_protocol4.pth", pickle_protocol=4)
    variant("resnet18_mini_protocol4.pth", pickle_protocol=4)

    with tempfile.TemporaryDirectory() as tmp:
        torch.save(sd, Path(tmp) / "original_stem.pth")
        shutil.move(Path(tmp) / "original_stem.pth", OUT / "renamed.pth")
    variant("renamed.pth")
    buffer = io.BytesIO()
    torch.save(sd, buffer)
    (OUT / "buffer_saved.pth").write_bytes(buffer.getvalue())
    variant("buffer_saved.pth")

    previous = torch.serialization.get_crc32_options()
    torch.serialization.set_crc32_options(False)
    try:
        torch.save(sd, OUT / "crc_disabled.pth")
    finally:
        torch.serialization.set_crc32_options(previous)
    with zipfile.ZipFile(OUT / "crc_disabled.pth") as zf:
        if any(info.CRC != 0 for info in zf.infolist()):
            raise AssertionError("crc_disabled.pth: torch wrote CRCs anyway")
    variant("crc_disabled.pth", crc32=False)

    # torchvision's download check: the name's `-([a-f0-9]*)\.` must prefix the file's sha256.
    for stale in OUT.glob("resnet18_mini-*.pth"):
        stale.unlink()
    digest = lib.sha256_file(base)[:8]
    for prefix, matches in ((digest, True), ("deadbeef", False)):
        # A symlink: the same bytes under a second name need no second copy in Fixtures/.
        (OUT / f"resnet18_mini-{prefix}.pth").symlink_to(base.name)
        variant(f"resnet18_mini-{prefix}.pth", hash_prefix=prefix, hash_prefix_matches=matches)


# The format variants hold resnet18_mini's tensors again, each in a different container. Packed into
# one solid .tar.xz the repeated tensor bytes compress away (about 1.7 MB becomes 0.3 MB), which keeps
# Fixtures/ under its 20 MiB budget; GraftTestSupport's TestPaths.fixture unpacks it on first use.
PACKED_VARIANTS = ["resnet18_mini_legacy.pth", "resnet18_mini_protocol4.pth", "renamed.pth",
                   "buffer_saved.pth", "crc_disabled.pth"]


def pack_variants():
    import lzma
    import tarfile

    archive = OUT / "variants.tar.xz"
    with lzma.open(archive, "wb", preset=9) as xz, tarfile.open(fileobj=xz, mode="w") as tar:
        for name in PACKED_VARIANTS:
            info = tar.gettarinfo(OUT / name, arcname=name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(OUT / name, "rb") as f:
                tar.addfile(info, f)
    for name in PACKED_VARIANTS:
        (OUT / name).unlink()


def save_layouts(manifest):
    views = lib.view_tensors()
    torch.save(views, OUT / "views.pth")
    entry = manifest.loadable("views.pth", views)
    for record, tensor in zip(entry["tensors"], views.values()):
        record["stride"] = list(tensor.stride())
        record["storage_offset"] = tensor.storage_offset()
    dtypes = lib.dtype_tensors()
    torch.save(dtypes, OUT / "dtypes.pth")
    manifest.loadable("dtypes.pth", dtypes)
    with tempfile.TemporaryDirectory() as tmp:
        little = Path(tmp) / "bigendian.pth"
        torch.save(dtypes, little)
        zc.rewrite_big_endian(little, OUT / "bigendian.pth")
        _assert_swapped(little, OUT / "bigendian.pth")
    manifest.loadable("bigendian.pth", dtypes, rewritten_from="dtypes.pth")


def _assert_swapped(little, big):
    """The rewrite changed every multi-byte storage (so a reader that ignores `byteorder` fails)."""
    with zipfile.ZipFile(little) as a, zipfile.ZipFile(big) as b:
        changed = [n for n in a.namelist() if "/data/" in n and a.read(n) != b.read(n)]
    if len(changed) < 6:
        raise AssertionError(f"bigendian.pth: only {changed} differ from the little-endian file")


def save_wrappers(manifest, micro):
    sd = micro.state_dict()
    trainer = copy.deepcopy(micro).train()
    optimizer = torch.optim.SGD(trainer.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(77)
    images, labels = torch.randn(4, 3, 64, 64, generator=gen), torch.tensor([0, 3, 5, 9])
    nn.functional.cross_entropy(trainer(images), labels).backward()
    optimizer.step()
    parallel = nn.DataParallel(micro).state_dict()
    torch.save({"epoch": 3, "state_dict": parallel, "optimizer": optimizer.state_dict()}, OUT / "wrapped.pth")
    manifest.loadable("wrapped.pth", sd, source_model="resnet_micro", normalization={
        "unwrapped": "state_dict", "stripped_prefixes": ["module."], "dropped": ["epoch", "optimizer"]})

    compiled = OrderedDict(("_orig_mod." + k, v) for k, v in sd.items())
    torch.save({"model": compiled}, OUT / "compiled.pth")
    manifest.loadable("compiled.pth", sd, source_model="resnet_micro", normalization={
        "unwrapped": "model", "stripped_prefixes": ["_orig_mod."], "dropped": []})

    ema = OrderedDict((k, v * 0.999 if v.is_floating_point() else v.clone()) for k, v in sd.items())
    torch.save({"state_dict": sd, "state_dict_ema": ema, "epoch": 5}, OUT / "ema.pth")
    manifest.loadable("ema.pth", sd, source_model="resnet_micro", ema_key="state_dict_ema", normalization={
        "unwrapped": "state_dict", "stripped_prefixes": [], "dropped": ["state_dict_ema", "epoch"]})

    torch.save({"state_dict": sd, "best_acc1": numpy.float64(0.75), "arch": "resnet18"},
               OUT / "numpy_scalar.pth")
    numpy_globals = {("numpy._core.multiarray", "scalar"): numpy._core.multiarray.scalar,
                     ("numpy", "dtype"): numpy.dtype, ("_codecs", "encode"): codecs.encode}
    manifest.loadable("numpy_scalar.pth", sd, source_model="resnet_micro", extra_globals=numpy_globals,
                      normalization={"unwrapped": "state_dict", "stripped_prefixes": [],
                                     "dropped": ["best_acc1", "arch"]})


class TinyScripted(nn.Module):
    """A two-layer module for the TorchScript archive (any scripted module would do)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))


class EvilReduce:
    """Pickles as a call to os.system. torch.save only calls __reduce__; nothing here runs the command."""

    def __reduce__(self):
        return (os.system, (f"touch {CANARY}",))


def save_refused(manifest, micro):
    torch.manual_seed(40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(TinyScripted()), OUT / "scripted.pt")
    with zipfile.ZipFile(OUT / "scripted.pt") as zf:
        if not any(n.endswith("/constants.pkl") for n in zf.namelist()):
            raise AssertionError("scripted.pt has no constants.pkl")
    manifest.refused("scripted.pt", "torchscript")

    canary_before = CANARY.exists()
    torch.save({"state_dict": micro.state_dict(), "hook": EvilReduce()}, OUT / "evil_reduce.pth")
    torch.save(micro, OUT / "full_model.pth")
    torch.save({"model": micro.state_dict(), "args": argparse.Namespace(lr=0.1, epochs=90)},
               OUT / "namespace_args.pth")
    expected = {"full_model.pth": "torchvision.models.resnet.ResNet", "evil_reduce.pth": "posix.system",
                "namespace_args.pth": "argparse.Namespace"}
    for name, detail in expected.items():
        found = zc.first_disallowed_global(zc.data_pickle(OUT / name))
        if found != detail:
            raise AssertionError(f"{name}: first disallowed global is {found}, expected {detail}")
        manifest.refused(name, "disallowed_global", detail)
    if CANARY.exists() and not canary_before:
        raise AssertionError(f"{CANARY} appeared: something executed the payload")


def main():
    lib.require_fixed_hash_seed()
    lib.configure_torch()
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = Manifest()
    models = save_miniatures(manifest)
    save_format_variants(manifest, models["resnet18_mini"])
    save_layouts(manifest)
    micro, micro_config = make_miniature("resnet_micro")
    manifest.note_model("resnet_micro", micro_config)
    save_wrappers(manifest, micro)
    save_refused(manifest, micro)
    manifest.write()
    pack_variants()
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"wrote {len(manifest.files)} fixtures + manifest.json to {OUT} ({total / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main()
