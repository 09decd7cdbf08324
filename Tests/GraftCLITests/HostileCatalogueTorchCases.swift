import Foundation
import GraftPickle
import GraftTestSupport

/// Torch zip checkpoints: tensor records that lie, archive structure, globals a pickle may not
/// name, and cuts and flips of a real torchvision miniature.
enum TorchCases {
    typealias T = TorchBytes
    static let C = CheckpointCommands.self

    /// (name, file, reason): tensor records and archive structure (each over two commands).
    static let records: [(String, @Sendable () throws -> [UInt8], String)] = [
        ("expand_2e34", { try T.simple(shape: [1 << 34], stride: [0], numel: 1) }, "more than 16×"),
        ("expand_2e28", { try T.simple(shape: [1 << 28], stride: [0], numel: 1) }, "more than 16×"),
        ("overlap_4096x4096", { try T.simple(shape: [1 << 12, 1 << 12], stride: [1, 1], numel: 1 << 13) }, "more than 16×"),
        ("zero_dim_first", { try T.simple(shape: [0, 1 << 40, 1 << 40], stride: [0, 0, 0], numel: 1) }, "1099511627776"),
        ("zero_dim_last", { try T.simple(shape: [1 << 40, 1 << 40, 0], stride: [0, 0, 0], numel: 1) }, "1099511627776"),
        ("negative_dim", { try T.simple(shape: [2, -1], stride: [1, 1], numel: 4) }, "negative dimension -1"),
        ("shape_overflow", { try T.simple(shape: [1 << 40, 1 << 40], stride: [1 << 40, 1], numel: 4) }, "1099511627776"),
        ("negative_stride", { try T.simple(shape: [2], stride: [-1], numel: 4) }, "negative stride -1"),
        ("negative_offset", { try T.simple(shape: [2], stride: [1], offset: -2, numel: 4) }, "-2"),
        ("stride_overflow", { try T.simple(shape: [3, 2], stride: [Int.max / 2 + 1, 1], numel: 4) }, "view extent"),
        ("view_past_storage", { try T.simple(shape: [2, 3], stride: [3, 1], numel: 5) }, "storage"),
        ("offset_past_storage", { try T.simple(shape: [3], stride: [1], offset: 2, numel: 4) }, "storage"),
        ("rank_mismatch", { try T.simple(shape: [2, 2], stride: [1], numel: 4) }, "stride has rank 1"),
        ("rank_40", { try T.simple(shape: Array(repeating: 1, count: 40), stride: Array(repeating: 1, count: 40), numel: 1) }, "rank 40"),
        ("record_short", { try T.simple(shape: [4], stride: [1], numel: 4, recordFloats: 3) }, "archive/data/0"),
        ("record_long", { try T.simple(shape: [4], stride: [1], numel: 4, recordFloats: 5) }, "archive/data/0"),
        ("numel_overflow", { try T.simple(shape: [1], stride: [1], numel: 0x4000_0000_0000_0001, recordFloats: 1) }, "4611686018427387905"),
        ("complex_storage", {
            try T.zip(.dict([PickleDictEntry(key: .string("c"), value: T.tensor(T.storage("0", "ComplexFloatStorage", numel: .int(1)),
                                                                            size: T.ints([1]), stride: T.ints([1])))]),
                      records: ["0": T.floats(2)])
        }, "ComplexFloatStorage"),
        ("qtensor", {
            try T.zip(.dict([PickleDictEntry(key: .string("q"), value: .call(module: "torch._utils", name: "_rebuild_qtensor", args: []))]),
                      records: [:])
        }, "_rebuild_qtensor"),
        ("rebuild_two_args", {
            try T.zip(.dict([PickleDictEntry(key: .string("t"), value: .call(module: "torch._utils", name: "_rebuild_tensor_v2",
                                                                             args: [T.storage("0", numel: .int(4)), .int(0)]))]),
                      records: ["0": T.floats(4)])
        }, "2 arguments"),
        ("size_is_str", {
            try T.zip(.dict([PickleDictEntry(key: .string("t"), value: T.tensor(T.storage("0", numel: .int(4)), size: .string("4"),
                                                                                stride: T.ints([1])))]), records: ["0": T.floats(4)])
        }, "size is str"),
        ("persistent_id_str", {
            try T.zip(.dict([PickleDictEntry(key: .string("t"), value: T.tensor(.persistentID(.string("0")), size: T.ints([4]),
                                                                                stride: T.ints([1])))]), records: ["0": T.floats(4)])
        }, "persistent"),
        ("storage_key_dotdot", {
            try T.zip(.dict([PickleDictEntry(key: .string("t"), value: T.tensor(T.storage("../0", numel: .int(4)), size: T.ints([4]),
                                                                                stride: T.ints([1])))]), records: ["0": T.floats(4)])
        }, "storage key"),
        ("storage_numel_negative", {
            try T.zip(.dict([PickleDictEntry(key: .string("t"), value: T.tensor(T.storage("0", numel: .int(-1)), size: T.ints([4]),
                                                                                stride: T.ints([1])))]), records: ["0": T.floats(4)])
        }, "storage '0'"),
        ("storage_two_dtypes", {
            let a = T.tensor(T.storage("0", numel: .int(4)), size: T.ints([4]), stride: T.ints([1]))
            let b = T.tensor(T.storage("0", "IntStorage", numel: .int(4)), size: T.ints([4]), stride: T.ints([1]))
            return try T.zip(.dict([PickleDictEntry(key: .string("a"), value: a), PickleDictEntry(key: .string("b"), value: b)]),
                             records: ["0": T.floats(4)])
        }, "storage '0'"),
        ("two_top_folders", { try T.zip(T.goodStateDict, records: ["0": T.floats(4)], extra: [("other/x", [1])]) }, "other"),
        ("no_data_pkl", { try T.zip(T.goodStateDict, records: ["0": T.floats(4)], omitPickle: true) }, "archive/data.pkl"),
        ("missing_record", { try T.zip(T.goodStateDict, records: [:]) }, "archive/data/0"),
        ("trailing_after_stop", {
            T.zip(rawPickle: try PickleWriter().encode(T.goodStateDict) + [0x4E])
        }, "archive/data.pkl"),
        ("byteorder_middle", {
            try T.zip(T.goodStateDict, records: ["0": T.floats(4)], extra: [("archive/byteorder", Array("middle".utf8))])
        }, "middle"),
        ("torchscript", {
            try T.zip(T.goodStateDict, records: ["0": T.floats(4)], extra: [("archive/constants.pkl", [0x80, 2, 0x4E, 0x2E])])
        }, "TorchScript"),
        ("top_level_list", { try T.zip(.list([.int(1)]), records: [:]) }, "list"),
        ("top_level_none", { try T.zip(.none, records: [:]) }, "the checkpoint is a None"),
        ("empty_state_dict", { try T.zip(.dict([]), records: [:]) }, "tensor"),
    ]

    /// Globals a checkpoint's pickle may not name (REDUCE of a call, GLOBAL and STACK_GLOBAL).
    static let forbidden: [(String, String)] = [
        ("os", "system"), ("posix", "system"), ("nt", "system"), ("subprocess", "Popen"), ("subprocess", "call"),
        ("subprocess", "check_output"), ("builtins", "eval"), ("builtins", "exec"), ("builtins", "getattr"),
        ("builtins", "__import__"), ("builtins", "open"), ("__builtin__", "eval"), ("shutil", "rmtree"),
        ("socket", "create_connection"), ("webbrowser", "open"), ("pickle", "loads"), ("runpy", "_run_code"),
        ("importlib", "import_module"), ("operator", "attrgetter"), ("functools", "partial"), ("sys", "exit"),
        ("os", "remove"), ("pty", "spawn"), ("code", "interact"), ("ctypes", "CDLL"), ("torch", "load"),
        ("numpy", "load"), ("torch.serialization", "load"), ("pdb", "set_trace"), ("timeit", "timeit"),
    ]

    static var cases: [HostileCase] {
        var out: [HostileCase] = []
        for (i, (name, make, reason)) in records.enumerated() {
            for (j, argv) in [C.inspect, C.nth(i + 1)].enumerated() {
                out.append(HostileCase("torch.\(name).\(j)", .bytes("\(name).pth", make), argv, [reason]))
            }
        }
        for (i, (module, name)) in forbidden.enumerated() {
            let qualified = "\(module).\(name)"
            out.append(HostileCase("torch.global.\(qualified)", .bytes("g_\(module)_\(name).pth", {
                T.zip(rawPickle: T.reduce(module, name))
            }), C.nth(i), [qualified]))
            out.append(HostileCase("torch.stackglobal.\(qualified)", .bytes("sg_\(module)_\(name).pth", {
                T.zip(rawPickle: T.reduce(module, name, stackGlobal: true))
            }), C.nth(i + 3), [qualified]))
        }
        return out
    }
}
