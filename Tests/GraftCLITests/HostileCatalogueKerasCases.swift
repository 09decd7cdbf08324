import Foundation
import GraftTestSupport

/// Keras HDF5 files (the committed E1–E13 refusals and cuts of a miniature), and the .npy inputs
/// and references verify and features read.
enum KerasCases {
    static let C = CheckpointCommands.self

    /// Committed hostile files that must be refused (those the manifest says read are left out).
    static let committed: [(String, [String])] = [
        ("compound_kernel.h5", ["kernel", "type", "dtype"]), ("deep_nesting.h5", ["deep", "depth", "nest"]),
        ("dotdot_weight_name.h5", [".."]), ("duplicate_layer_names.h5", ["twice", "duplicate"]),
        ("enum_kernel.h5", ["kernel", "type", "dtype"]), ("external_link.h5", ["external"]),
        ("external_storage.h5", ["external"]), ("extra_dataset.h5", ["weight"]),
        ("fletcher32_corrupt.h5", ["Fletcher32", "damaged"]),
        ("fill_bomb_under_keras_floor.h5", ["bomb", "stored", "declares"]), ("huge_attribute.h5", ["layer_names lists"]),
        ("huge_fixed_attribute.h5", ["layer_names lists"]), ("int_kernel.h5", ["kernel", "type", "dtype", "int"]),
        ("int_layer_names.h5", ["layer_names"]), ("libhdf5_crash_btree2.h5", ["libhdf5"]),
        ("libhdf5_crash_global_heap.h5", ["libhdf5"]), ("link_cycle.h5", ["cycle"]),
        ("lying_model_config.h5", ["shape"]), ("lzf_filter.h5", ["32000", "filter"]),
        ("missing_layer_names.h5", ["layer_names", "Keras"]), ("missing_weight.h5", ["missing", "weight"]),
        ("missing_weight_names.h5", ["weight_names"]), ("non_utf8_layer_names.h5", ["UTF-8"]),
        ("not_hdf5.h5", ["HDF5", "unknown format", "not a"]), ("nul_layer_name.h5", ["NUL", "name"]),
        ("overflow_shape.h5", ["shape", "overflow"]), ("rank33.h5", ["is damaged", "dimensionality"]),
        ("shape_bomb.h5", ["bomb", "stored", "declares"]), ("slash_layer_name.h5", ["name", "/"]),
        ("soft_link_dataset.h5", ["soft"]), ("soft_link_layer.h5", ["soft"]), ("uint16_kernel.h5", ["kernel", "type", "dtype", "uint16"]),
        ("v3_bad_var_names.h5", ["var", "0", "2"]), ("v3_conv_three_vars.h5", ["3", "variables", "weight"]),
        ("virtual_dataset.h5", ["virtual"]), ("vlen_string_kernel.h5", ["kernel", "type", "dtype", "string"]),
    ]

    static let cutReasons = ["truncated", "HDF5", "corrupt", "libhdf5", "not a", "unknown format"]

    static var cases: [HostileCase] {
        var out: [HostileCase] = []
        for (i, (file, reasons)) in committed.enumerated() {
            out.append(HostileCase("keras.\(file).inspect", .path(TestPaths.fixture("keras/hostile/\(file)")), C.inspect, reasons))
            out.append(HostileCase("keras.\(file).convert", .path(TestPaths.fixture("keras/hostile/\(file)")),
                                   i % 2 == 0 ? C.convert : C.exportPth, reasons))
        }
        // Cuts of every layout (E2): libhdf5 compares the superblock's end-of-file address with the
        // file's size before reading anything else, so a cut is refused at open. (Flipped bytes inside
        // HDF5 structures are left to the libhdf5 watchdog: some make libhdf5 1.10 loop.)
        let layouts = ["resnet_mini.h5", "resnet_mini.weights.h5", "resnet_mini.tf2.h5", "vgg_mini.h5", "vgg_mini.weights.h5",
                       "efficientnet_mini.h5", "efficientnet_mini.weights.h5", "efficientnet_mini.full.h5"]
        for (i, base) in layouts.enumerated() {
            for (j, f) in [0.05, 0.5, 0.9, 0.999].enumerated() {
                let tag = Int(f * 1000)
                out.append(HostileCase("cut.keras.\(base).\(tag)", .bytes("cut\(tag)_\(base)", {
                    Mutate.truncated(try Mutate.fixture("keras/\(base)"), fraction: f)
                }), [C.inspect, C.convert, C.summary, C.exportPth][(i + j) % 4], cutReasons))
            }
        }
        // Flipped bytes in resnet_mini.h5 that libhdf5 and the Keras reader refuse promptly (a probe of 71
        // offsets on libhdf5 1.10.8: these 25 were refused, the other 46 sit in unchecked tensor data or
        // padding and read; none hung or crashed). Other HDF5 flips are left to the libhdf5 watchdog.
        let h5Flips = [0, 64, 128, 192, 256, 320, 704, 768, 832, 960, 1024, 1088, 1152, 1216, 1280, 1344, 1408, 1472, 1536,
                       1600, 1984, 4857, 72858, 116572, 174859]
        for (i, at) in h5Flips.enumerated() {
            out.append(HostileCase("flip.keras.resnet_mini.h5.\(at)", .bytes("flip\(at)_resnet_mini.h5", {
                Mutate.flipped(try Mutate.fixture("keras/resnet_mini.h5"), at: at)
            }), i % 2 == 0 ? C.inspect : C.convert, ["is damaged", "is malformed", "not valid UTF-8", "no such dataset", "unknown format"]))
        }
        return out + NpyCases.cases
    }
}

/// .npy inputs and references: verify and features read them before any comparison.
enum NpyCases {
    static let verifyReference = ["verify", "--arch", "resnet", "--checkpoint", "@torch/resnet18_mini.pth",
                                  "--input", "@models/input_2x3x64x64.npy", "--reference", "{in}", "--output", "{out}/y.npy"]
    static let verifyInput = ["verify", "--arch", "resnet", "--checkpoint", "@torch/resnet18_mini.pth",
                              "--input", "{in}", "--reference", "@models/resnet18_mini_logits.npy", "--output", "{out}/y.npy"]
    static let featuresInput = ["features", "--arch", "resnet", "--checkpoint", "@torch/resnet18_mini.pth",
                                "--input", "{in}", "--layer", "pool", "--output", "{out}/f.npy"]

    /// (name, bytes, reasons), each read as a reference, an input and a features input.
    static let files: [(String, @Sendable () -> [UInt8], [String])] = [
        ("empty", { [] }, ["npy", "NumPy", "truncated", "magic"]),
        ("bad_magic", { Array("NUMPY????".utf8) }, ["npy", "NumPy", "magic"]),
        ("header_len_64k", { NpyBytes.raw(version: 1, headerLength: 0xFFFF, Array("{'descr'".utf8)) }, ["header", "truncated"]),
        ("version_9", { NpyBytes.raw(version: 9, headerLength: 10, Array("{}        ".utf8)) }, ["version"]),
        ("descr_object", { NpyBytes.file(descr: "|O", shape: [2, 10], payload: [UInt8](repeating: 0, count: 160)) }, ["|O", "dtype", "descr"]),
        ("descr_complex", { NpyBytes.file(descr: "<c8", shape: [2, 10], payload: [UInt8](repeating: 0, count: 160)) }, ["<c8", "dtype", "descr"]),
        ("fortran_order", {
            NpyBytes.file(shape: [2, 10], payload: [UInt8](repeating: 0, count: 80),
                          headerOverride: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 10), }")
        }, ["Fortran-ordered"]),
        ("shape_2e40", { NpyBytes.file(shape: [1 << 20, 1 << 20, 3, 3], payload: [0, 0, 0, 0]) }, ["truncated", "size", "bytes", "limit", "shape"]),
        ("shape_negative", { NpyBytes.file(shape: [2, -10], payload: [UInt8](repeating: 0, count: 80)) }, ["bad dimension '-10'"]),
        ("payload_short", { NpyBytes.file(shape: [2, 10], payload: [UInt8](repeating: 0, count: 40)) }, ["truncated", "bytes", "size"]),
        ("header_not_dict", { NpyBytes.file(shape: [1], payload: [], headerOverride: "[1, 2, 3]") }, ["header"]),
        ("header_python_call", {
            NpyBytes.file(shape: [1], payload: [], headerOverride: "__import__('os').system('touch /tmp/pwned')")
        }, ["header"]),
        ("shape_zero_huge", { NpyBytes.file(shape: [0, 1 << 62, 1 << 62], payload: []) }, ["shape", "overflow", "size"]),
        ("rank_40", { NpyBytes.file(shape: Array(repeating: 1, count: 40), payload: [0, 0, 0, 0]) }, ["rank", "shape", "dimensions"]),
    ]

    /// References that parse but cannot be compared (verify refuses them before --output is written).
    static let references: [(String, @Sendable () -> [UInt8], [String])] = [
        ("ref_wrong_shape", { NpyBytes.float32(shape: [2, 7], 0) }, ["reference shape [2, 7], model output [2, 10]"]),
        ("ref_rank3", { NpyBytes.float32(shape: [2, 10, 1], 0) }, ["reference shape [2, 10, 1]"]),
        ("ref_batch_3", { NpyBytes.float32(shape: [3, 10], 0) }, ["reference shape [3, 10]"]),
    ]

    static let inputs: [(String, @Sendable () -> [UInt8], [String])] = [
        ("input_rank2", { NpyBytes.float32(shape: [3, 4096], 0) }, ["must have 4 dimensions"]),
        ("input_rank5", { NpyBytes.float32(shape: [1, 1, 3, 8, 8], 0) }, ["must have 4 dimensions"]),
        ("input_4_channels", { NpyBytes.float32(shape: [1, 4, 64, 64], 0) }, ["channel", "4"]),
        ("input_zero_size", { NpyBytes.float32(shape: [1, 3, 0, 64], 0) }, ["shape", "0", "empty"]),
    ]

    static var cases: [HostileCase] {
        var out: [HostileCase] = []
        for (name, bytes, reasons) in files {
            out.append(HostileCase("npy.\(name).reference", .bytes("\(name).npy", bytes), verifyReference, reasons))
            out.append(HostileCase("npy.\(name).input", .bytes("\(name).npy", bytes), verifyInput, reasons))
            out.append(HostileCase("npy.\(name).features", .bytes("\(name).npy", bytes), featuresInput, reasons))
        }
        for (name, bytes, reasons) in references {
            out.append(HostileCase("npy.\(name)", .bytes("\(name).npy", bytes), verifyReference, reasons))
        }
        // A reference of NaN or infinities is compared, not refused: verify reports the non-finite
        // values and fails the check (exit 1), as it does for any reference outside tolerance.
        for (name, value) in [("ref_all_nan", Float.nan), ("ref_all_inf", Float.infinity)] {
            out.append(HostileCase("npy.\(name)", .bytes("\(name).npy", { NpyBytes.float32(shape: [2, 10], value) }),
                                   Array(verifyReference.dropLast(2)), [], exit: 1))
        }
        for (i, (name, bytes, reasons)) in inputs.enumerated() {
            out.append(HostileCase("npy.\(name)", .bytes("\(name).npy", bytes), i % 2 == 0 ? verifyInput : featuresInput, reasons))
        }
        return out
    }
}
