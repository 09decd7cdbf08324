import Foundation
import GraftPickle
import GraftTestSupport

/// Torch checkpoints built in memory for the catalogue: a zip of `archive/data.pkl`, its records and
/// `archive/version` (ZipBuilder, stored members), or the legacy single stream; and the commands that
/// read a checkpoint, so a family of hostile files can be spread over all of them.
enum TorchBytes {
    static func storage(_ key: String, _ type: String = "FloatStorage", numel: PickleValue) -> PickleValue {
        .persistentID(.tuple([.string("storage"), .global(module: "torch", name: type), .string(key), .string("cpu"), numel]))
    }

    static func tensor(_ storage: PickleValue, offset: Int = 0, size: PickleValue, stride: PickleValue) -> PickleValue {
        .call(module: "torch._utils", name: "_rebuild_tensor_v2",
              args: [storage, .int(offset), size, stride, .bool(false), .call(module: "collections", name: "OrderedDict", args: [])])
    }

    static func ints(_ v: [Int]) -> PickleValue { .tuple(v.map { .int($0) }) }

    static func floats(_ n: Int) -> [UInt8] { SafetensorsBytes.float32((0..<n).map(Float.init)) }

    /// `{"t": tensor}` over storage "0" of `numel` floats, with a record of `recordFloats` floats.
    static func simple(shape: [Int], stride: [Int], offset: Int = 0, numel: Int, recordFloats: Int? = nil) throws -> [UInt8] {
        try zip(.dict([PickleDictEntry(key: .string("t"), value: tensor(
            storage("0", numel: .int(numel)), offset: offset, size: ints(shape), stride: ints(stride)))]),
            records: ["0": floats(recordFloats ?? numel)])
    }

    /// One well-formed 4-float tensor `t`, the state dict most structural cases start from.
    static var goodStateDict: PickleValue {
        .dict([PickleDictEntry(key: .string("t"), value: tensor(storage("0", numel: .int(4)), size: ints([4]), stride: ints([1])))])
    }

    static func zip(_ pickle: PickleValue, records: [String: [UInt8]], prefix: String = "archive",
                    extra: [(String, [UInt8])] = [], omitPickle: Bool = false) throws -> [UInt8] {
        zip(rawPickle: try PickleWriter().encode(pickle), records: records, prefix: prefix, extra: extra, omitPickle: omitPickle)
    }

    static func zip(rawPickle: [UInt8], records: [String: [UInt8]] = ["0": floats(4)], prefix: String = "archive",
                    extra: [(String, [UInt8])] = [], omitPickle: Bool = false) -> [UInt8] {
        ZipBuilder(members: members(rawPickle: rawPickle, records: records, prefix: prefix, extra: extra, omitPickle: omitPickle))
            .build().bytes
    }

    static func members(rawPickle: [UInt8], records: [String: [UInt8]] = ["0": floats(4)], prefix: String = "archive",
                        extra: [(String, [UInt8])] = [], omitPickle: Bool = false) -> [ZipBuilder.Member] {
        var m: [ZipBuilder.Member] = omitPickle ? [] : [.init(name: "\(prefix)/data.pkl", data: rawPickle)]
        for (key, bytes) in records.sorted(by: { $0.key < $1.key }) { m.append(.init(name: "\(prefix)/data/\(key)", data: bytes)) }
        m.append(.init(name: "\(prefix)/version", data: Array("3\n".utf8)))
        for (name, bytes) in extra { m.append(.init(name: name, data: bytes)) }
        return m
    }

    /// The good state dict's members, changed by `edit` (the zip tricks).
    static func zipTrick(_ edit: (inout ZipBuilder) -> Void) throws -> [UInt8] {
        var b = ZipBuilder(members: members(rawPickle: try PickleWriter().encode(goodStateDict)))
        edit(&b)
        return b.build().bytes
    }

    /// The legacy stream: magic, protocol 1001, sys_info, `object` (raw pickle bytes), the key list, storages.
    static func legacy(object: [UInt8], protocolVersion: Int = 1001, keys: [String] = [], storages: [[UInt8]] = []) throws -> [UInt8] {
        let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        let w = PickleWriter()
        var out = magic + (try w.encode(.int(protocolVersion)))
        out += try w.encode(.dict([PickleDictEntry(key: .string("protocol_version"), value: .int(1001)),
                                   PickleDictEntry(key: .string("little_endian"), value: .bool(true)),
                                   PickleDictEntry(key: .string("type_sizes"), value: .dict([]))]))
        out += object
        out += try w.encode(.list(keys.map { .string($0) }))
        for s in storages { out += SafetensorsBytes.littleEndian([UInt64(s.count / 4)]) + s }
        return out
    }

    /// `module.name` called on one string argument with REDUCE: the classic pickle payload.
    static func reduce(_ module: String, _ name: String, stackGlobal: Bool = false) -> [UInt8] {
        let p = PickleBuilder().proto(stackGlobal ? 4 : 2)
        if stackGlobal { p.shortBinUnicode(module).shortBinUnicode(name).stackGlobal() } else { p.global(module, name) }
        return p.binUnicode("touch /tmp/graft-pwned").tuple1().reduce().stop().bytes
    }
}

/// The commands that open a checkpoint, as argument templates (`{in}` the checkpoint, `{out}` the
/// output folder that must stay empty). A family of hostile checkpoints cycles through them.
enum CheckpointCommands {
    static let inspect = ["inspect", "{in}"]
    static let inspectFast = ["inspect", "--fast", "{in}"]
    static let convert = ["convert", "{in}", "{out}/x.safetensors"]
    static let exportPth = ["export", "{in}", "{out}/x.pth"]
    static let exportTimm = ["export", "--format", "timm", "{in}", "{out}/timm"]
    static let exportONNX = ["export", "--format", "onnx", "--arch", "resnet", "{in}", "{out}/x.onnx"]
    static let summary = ["summary", "--checkpoint", "{in}"]
    static let verify = ["verify", "--arch", "resnet", "--checkpoint", "{in}", "--input", "@models/input_2x3x64x64.npy",
                         "--reference", "@models/resnet18_mini_logits.npy", "--output", "{out}/y.npy"]
    static let predict = ["predict", "--arch", "resnet", "--checkpoint", "{in}", "@timm/photo.jpg"]
    static let preprocess = ["preprocess", "--checkpoint", "{in}", "@timm/photo.jpg", "--output", "{out}/p.npy"]
    static let features = ["features", "--arch", "resnet", "--checkpoint", "{in}", "--input", "@models/input_2x3x64x64.npy",
                           "--layer", "pool", "--output", "{out}/f.npy"]
    static let finetune = ["finetune", "--arch", "resnet", "--checkpoint", "{in}", "--data", "@demo/images", "--epochs", "1",
                           "--output", "{out}/ft.safetensors"]

    /// Every command that reads a checkpoint's tensors.
    static let all = [inspect, convert, exportPth, exportTimm, exportONNX, summary, verify, predict, features, finetune]

    /// The `i`-th command of `all`, cycling.
    static func nth(_ i: Int) -> [String] { all[i % all.count] }
}
