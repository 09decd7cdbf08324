"""Hostile and unusual HDF5 inputs for the Keras importer (style_safety.md §2.3 E1-E13).

Imported by make_keras_fixtures.py, which calls write_all(). Each file is a few kilobytes and
breaks one rule; the Swift tests (GraftKerasTests/HostileKerasTests.swift) assert the typed error
for each. Truncated files (E2) are cut from a good fixture inside the tests instead of stored.
"""
import shutil

import h5py
import numpy as np

CASES = {}


def case(filename, expect, note):
    def register(fn):
        CASES[filename] = (fn, expect, note)
        return fn
    return register


def legacy_dense(f, name="dense", names=None, kernel=None):
    """A one-layer legacy weights file: layer `name` with kernel (3, 2) and bias (2,)."""
    f.attrs["layer_names"] = [n.encode() for n in (names or [name])]
    f.attrs["keras_version"] = b"3.15.1"
    f.attrs["backend"] = b"torch"
    g = f.create_group(name)
    g.attrs["weight_names"] = [f"{name}/kernel".encode(), f"{name}/bias".encode()]
    g.create_dataset(f"{name}/kernel", data=np.arange(6, dtype="f4").reshape(3, 2) if kernel is None else kernel)
    g.create_dataset(f"{name}/bias", data=np.zeros(2, "f4"))
    return g


def v3_vars(f, key="dense", name="dense"):
    g = f.create_group(f"layers/{key}/vars")
    g.attrs["name"] = name
    return g


@case("not_hdf5.h5", "HDF5Error.notHDF5", "E1: text, no superblock signature")
def not_hdf5(path):
    path.write_bytes(b"this is not an HDF5 file\n" * 40)


@case("soft_link_layer.h5", "HDF5Error.linkNotAllowed(soft)", "E5: the layer group is a soft link")
def soft_link_layer(path):
    with h5py.File(path, "w") as f:
        legacy_dense(f, name="real")
        f.attrs["layer_names"] = [b"dense"]
        f["dense"] = h5py.SoftLink("/real")


@case("soft_link_dataset.h5", "HDF5Error.linkNotAllowed(soft)", "E5: a weight dataset is a soft link")
def soft_link_dataset(path):
    with h5py.File(path, "w") as f:
        g = legacy_dense(f)
        g.create_dataset("elsewhere", data=np.ones(2, "f4"))
        del g["dense/bias"]
        g["dense/bias"] = h5py.SoftLink("/dense/elsewhere")


@case("external_link.h5", "HDF5Error.linkNotAllowed(external)",
      "E5: the layer group is an external link to external_target.h5 (which exists and is never opened)")
def external_link(path):
    with h5py.File(path.parent / "external_target.h5", "w") as t:
        legacy_dense(t)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        f["dense"] = h5py.ExternalLink("external_target.h5", "/dense")


@case("external_storage.h5", "HDF5Error.externalStorage", "E6: a kernel stored in an external raw file")
def external_storage(path):
    with h5py.File(path, "w") as f:
        g = legacy_dense(f)
        del g["dense/kernel"]
        g.create_dataset("dense/kernel", shape=(3, 2), dtype="f4", external=[("external_storage.bin", 0, 24)])


@case("virtual_dataset.h5", "HDF5Error.virtualDataset", "E6: a kernel that is a virtual dataset over another file")
def virtual_dataset(path):
    with h5py.File(path, "w") as f:
        g = legacy_dense(f)
        del g["dense/kernel"]
        layout = h5py.VirtualLayout(shape=(3, 2), dtype="f4")
        layout[:] = h5py.VirtualSource("virtual_source.h5", "data", shape=(3, 2))
        g.create_virtual_dataset("dense/kernel", layout, fillvalue=0)


@case("shape_bomb.h5", "HDF5Error.shapeBomb", "E7: 2**40 float32 declared, gzip-chunked, nothing stored")
def shape_bomb(path):
    with h5py.File(path, "w") as f:
        v3_vars(f, "custom", "blob").create_dataset("0", shape=(2**40,), dtype="f4", chunks=(2**16,),
                                                    compression="gzip")


@case("shape_bomb_small.h5", "HDF5Error.shapeBomb with bombFloorBytes 1024",
      "E7 at small scale: 1 MiB declared, nothing stored (readable with default limits)")
def shape_bomb_small(path):
    with h5py.File(path, "w") as f:
        v3_vars(f, "custom", "blob").create_dataset("0", shape=(2**18,), dtype="f4", chunks=(2**12,),
                                                    compression="gzip")


@case("fill_bomb_under_keras_floor.h5", "HDF5Error.shapeBomb",
      "E7 just under Keras' 4 GiB floor: 16x16x1024x4095 float32 (4.29e9 bytes) chunked, nothing stored")
def fill_bomb_under_keras_floor(path):
    with h5py.File(path, "w") as f:
        v3_vars(f, "custom", "blob").create_dataset("0", shape=(16, 16, 1024, 4095), dtype="f4",
                                                    chunks=(1, 1, 1024, 1024), compression="gzip")


@case("lzf_filter.h5", "HDF5Error.unsupportedFilter(32000)", "E8: a kernel compressed with h5py's LZF plugin filter")
def lzf_filter(path):
    with h5py.File(path, "w") as f:
        g = legacy_dense(f)
        del g["dense/kernel"]
        g.create_dataset("dense/kernel", data=np.ones((3, 2), "f4"), compression="lzf")


@case("fletcher32_corrupt.h5", "reads at open; reading the kernel fails its fletcher32 checksum",
      "a kernel stored with a fletcher32 checksum, one byte of its data flipped: inspect refuses, inspect --fast lists it")
def fletcher32_corrupt(path):
    # v110 file format: compact groups keep it to ~6 KB, and libhdf5 1.10 reads it.
    with h5py.File(path, "w", libver=("v110", "v110")) as f:
        g = legacy_dense(f)
        del g["dense/kernel"]  # (its bytes stay in the file, unreferenced)
        kernel = g.create_dataset("dense/kernel", data=np.arange(6, dtype="f4").reshape(3, 2), chunks=(3, 2),
                                  fletcher32=True)
        at = kernel.id.get_chunk_info(0).byte_offset
    data = bytearray(path.read_bytes())
    data[at + 5] ^= 0x40
    path.write_bytes(bytes(data))


def kernel_case(filename, note, make):
    @case(filename, "KerasError.weightType", note)
    def writer(path):
        with h5py.File(path, "w") as f:
            g = legacy_dense(f)
            del g["dense/kernel"]
            make(g, "dense/kernel")
    return writer


kernel_case("int_kernel.h5", "E4: int32 kernel", lambda g, n: g.create_dataset(n, data=np.ones((3, 2), "i4")))
kernel_case("compound_kernel.h5", "E4: compound kernel",
            lambda g, n: g.create_dataset(n, data=np.zeros((3, 2), dtype=[("re", "f4"), ("im", "f4")])))
kernel_case("vlen_string_kernel.h5", "E4: variable-length string kernel",
            lambda g, n: g.create_dataset(n, data=np.array(["a", "b"], dtype=h5py.string_dtype())))
kernel_case("enum_kernel.h5", "E4: enum kernel",
            lambda g, n: g.create_dataset(n, data=np.zeros((3, 2), "i1"),
                                          dtype=h5py.enum_dtype({"A": 0, "B": 1}, basetype="i1")))
kernel_case("uint16_kernel.h5", "E4: uint16 kernel (no Graft dtype)",
            lambda g, n: g.create_dataset(n, data=np.ones((3, 2), "u2")))


@case("missing_layer_names.h5", "KerasError.notKerasWeights", "E9: a layer group but no layer_names")
def missing_layer_names(path):
    with h5py.File(path, "w") as f:
        legacy_dense(f)
        del f.attrs["layer_names"]


@case("missing_weight_names.h5", "KerasError.missingAttribute(weight_names)", "E9: a layer without weight_names")
def missing_weight_names(path):
    with h5py.File(path, "w") as f:
        del legacy_dense(f).attrs["weight_names"]


@case("int_layer_names.h5", "HDF5Error.attributeType", "E9: layer_names is an int array")
def int_layer_names(path):
    with h5py.File(path, "w") as f:
        legacy_dense(f)
        f.attrs["layer_names"] = np.array([1, 2, 3], "i4")


@case("non_utf8_layer_names.h5", "HDF5Error.attributeNotUTF8", "E9: layer_names holds bytes that are not UTF-8")
def non_utf8(path):
    with h5py.File(path, "w") as f:
        legacy_dense(f)
        f.attrs["layer_names"] = np.array([b"\xff\xfe"], "S2")


@case("nul_layer_name.h5", "KerasError.invalidName", "E9: a fixed-length layer name with an embedded NUL")
def nul_layer_name(path):
    with h5py.File(path, "w") as f:
        legacy_dense(f)
        f.attrs["layer_names"] = np.array([b"den\x00se"], "S6")


@case("dotdot_weight_name.h5", "KerasError.invalidName", "E9: a weight name with a `..` component")
def dotdot_weight_name(path):
    with h5py.File(path, "w") as f:
        g = legacy_dense(f)
        g.attrs["weight_names"] = [b"../dense/dense/kernel", b"dense/bias"]


@case("slash_layer_name.h5", "KerasError.invalidName", "E9: a layer name with `/` (a path, not a name)")
def slash_layer_name(path):
    with h5py.File(path, "w") as f:
        legacy_dense(f)
        f.attrs["layer_names"] = [b"dense/dense"]


@case("duplicate_layer_names.h5", "KerasError.malformed", "E9: layer_names lists a layer twice")
def duplicate_layer_names(path):
    with h5py.File(path, "w") as f:
        legacy_dense(f, names=["dense", "dense"])


@case("extra_dataset.h5", "KerasError.weightCountMismatch", "E10: a layer group holds a dataset weight_names omits")
def extra_dataset(path):
    with h5py.File(path, "w") as f:
        legacy_dense(f).create_dataset("dense/extra", data=np.ones(2, "f4"))


@case("missing_weight.h5", "KerasError.missingWeight", "E10: weight_names lists a weight with no dataset")
def missing_weight(path):
    with h5py.File(path, "w") as f:
        del legacy_dense(f)["dense/bias"]


@case("v3_conv_three_vars.h5", "KerasError.weightCountMismatch", "E10: a Keras 3 Conv2D group with 3 variables")
def v3_conv_three_vars(path):
    with h5py.File(path, "w") as f:
        g = v3_vars(f, "conv2d", "conv")
        g["0"] = np.ones((3, 3, 2, 4), "f4")
        g["1"] = np.ones(4, "f4")
        g["2"] = np.ones(4, "f4")


@case("v3_bad_var_names.h5", "KerasError.malformed", "E10: Keras 3 variables named 0 and 2")
def v3_bad_var_names(path):
    with h5py.File(path, "w") as f:
        g = v3_vars(f)
        g["0"] = np.ones((3, 2), "f4")
        g["2"] = np.ones(2, "f4")


@case("rank5_kernel.h5", "HDF5Error.rankTooLarge with maxRank 4", "E11: a 5-D dataset against a lowered rank limit")
def rank5(path):
    with h5py.File(path, "w") as f:
        v3_vars(f)["0"] = np.ones((1, 1, 1, 1, 2), "f4")


@case("rank33.h5", "HDF5Error.corrupt (libhdf5 refuses rank > 32)",
      "E11: a 32-D dataset whose dataspace message was patched to claim 33 dimensions")
def rank33(path):
    with h5py.File(path, "w", libver="earliest") as f:
        v3_vars(f).create_dataset("0", shape=(1,) * 32, dtype="f4")
    data = bytearray(path.read_bytes())
    # Dataspace message v1: version 1, rank, flags (1: maximum sizes follow), 5 reserved bytes,
    # then rank x 8-byte sizes.
    pattern = bytes([1, 32, 1]) + b"\x00" * 5 + (b"\x01" + b"\x00" * 7) * 32
    at = data.find(pattern)
    assert at >= 0 and data.find(pattern, at + 1) < 0
    data[at + 1] = 33
    path.write_bytes(bytes(data))


@case("overflow_shape.h5", "HDF5Error.invalidShape", "E11: dimensions whose byte count overflows 64 bits")
def overflow_shape(path):
    with h5py.File(path, "w") as f:
        v3_vars(f).create_dataset("0", shape=(2**31, 2**31, 2**31), dtype="f4", chunks=(1, 1, 16))


@case("deep_nesting.h5", "HDF5Error.depthLimit", "E12: 70 nested groups under layers/ (the default limit is 64)")
def deep_nesting(path):
    with h5py.File(path, "w") as f:
        f.create_group("layers/" + "/".join(["g"] * 70))


@case("link_cycle.h5", "HDF5Error.linkCycle", "E12: a hard link from layers/a/b back to layers")
def link_cycle(path):
    with h5py.File(path, "w") as f:
        f.create_group("layers/a/b")
        f["layers/a/b/loop"] = f["layers"]


@case("huge_attribute.h5", "HDF5Error.attributeTooLarge with maxAttributeBytes 4096",
      "E13: 40 KB of variable-length layer_names")
def huge_attribute(path):
    with h5py.File(path, "w") as f:
        legacy_dense(f)
        f.attrs["layer_names"] = [b"dense"] + [b"x" * 1000] * 40


@case("huge_fixed_attribute.h5", "HDF5Error.attributeTooLarge with maxAttributeBytes 4096",
      "E13: 40 KB of fixed-length layer_names, refused before reading")
def huge_fixed_attribute(path):
    with h5py.File(path, "w") as f:
        legacy_dense(f)
        f.attrs["layer_names"] = np.array([b"dense"] + [b"x" * 1000] * 40, "S1000")


@case("user_block.h5", "reads (signature at offset 512)", "a valid legacy file behind a 512-byte user block")
def user_block(path):
    with h5py.File(path, "w", userblock_size=512) as f:
        legacy_dense(f)


@case("dtypes.weights.h5", "reads: f16 stays f16, f64 stays f64, big-endian f32 swapped, bf16 opaque + attr",
      "E3: Keras 3 layout with unusual stored dtypes")
def dtypes(path):
    import ml_dtypes
    with h5py.File(path, "w") as f:
        g = v3_vars(f, "dense", "fc")
        g.create_dataset("0", data=np.arange(6, dtype=">f4").reshape(3, 2) - 2.5)
        g.create_dataset("1", data=np.array([0.5, -1.25], "f2"))
        g = v3_vars(f, "batch_normalization", "bn")
        g.create_dataset("0", data=np.array([1.5, 2.0], ">f8"))
        g.create_dataset("1", data=np.array([0.25, -0.5], "f8"))
        bf16 = g.create_dataset("2", data=np.array([1.0, -3.0], ml_dtypes.bfloat16))
        bf16.attrs["dtype"] = "bfloat16"
        g.create_dataset("3", data=np.array([1.0, 4.0], "f4"))


@case("creation_order.h5", "reads: links in creation order zeta, alpha, mid; in name order alpha, mid, zeta",
      "a group that tracks creation order (h5py track_order=True)")
def creation_order(path):
    with h5py.File(path, "w") as f:
        g = f.create_group("tracked", track_order=True)
        for name in ["zeta", "alpha", "mid"]:
            g.create_group(name)


def full_model(f, config):
    """A full-model file: root model_config, the weights under model_weights."""
    f.attrs["model_config"] = config
    legacy_dense(f.create_group("model_weights"))


@case("bad_model_config.h5", "reads, with a note: model_config is not JSON",
      "a full-model file whose model_config is not JSON (classes fall back to the weight names)")
def bad_model_config(path):
    with h5py.File(path, "w") as f:
        full_model(f, '{"class_name": "Functional", "config": {"layers": [')


@case("lying_model_config.h5", "KerasError.weightShape", "model_config calls the Dense layer a Conv2D")
def lying_model_config(path):
    with h5py.File(path, "w") as f:
        full_model(f, '{"class_name": "Functional", "config": {"name": "m", "layers": ['
                      '{"class_name": "Conv2D", "config": {"name": "dense", "filters": 2}}]}}')


def write_all(directory, good_fixture):
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    manifest = {}
    for filename, (fn, expect, note) in sorted(CASES.items()):
        fn(directory / filename)
        manifest[filename] = dict(expect=expect, note=note)
    manifest["truncated (built in the tests)"] = dict(
        expect="HDF5Error.truncated", note=f"E2: {good_fixture.name} cut at 50% and 90%")
    return manifest
