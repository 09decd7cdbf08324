import Foundation
import GraftCore
import GraftPickle
import GraftTestSupport
import GraftTorch
import GraftZip

/// Builds small torch-style zip checkpoints from pickle values, so each hostile tensor record is a
/// readable line in a test rather than a binary file.
enum CheckpointBuilder {
    static func storage(_ key: String, _ type: String = "FloatStorage", numel: PickleValue) -> PickleValue {
        .persistentID(.tuple([.string("storage"), .global(module: "torch", name: type), .string(key), .string("cpu"), numel]))
    }

    static func tensor(storage: PickleValue, offset: PickleValue = .int(0), size: PickleValue, stride: PickleValue,
                       function: String = "_rebuild_tensor_v2") -> PickleValue {
        .call(module: "torch._utils", name: function,
              args: [storage, offset, size, stride, .bool(false), .call(module: "collections", name: "OrderedDict", args: [])])
    }

    static func ints(_ v: [Int]) -> PickleValue { .tuple(v.map { .int($0) }) }

    /// A float32 tensor `t` of `shape` over storage "0" with `numel` elements and a record of `recordFloats`.
    static func simple(shape: [Int], stride: [Int], offset: Int = 0, numel: Int, recordFloats: Int? = nil) throws -> String {
        try write(pickle: .dict([PickleDictEntry(key: .string("t"), value: tensor(
            storage: storage("0", numel: .int(numel)), offset: .int(offset), size: ints(shape), stride: ints(stride)))]),
            records: ["0": floats(recordFloats ?? numel)])
    }

    static func floats(_ n: Int) -> [UInt8] {
        (0..<n).flatMap { i -> [UInt8] in
            let b = Float(i).bitPattern
            return [UInt8(b & 0xFF), UInt8((b >> 8) & 0xFF), UInt8((b >> 16) & 0xFF), UInt8(b >> 24)]
        }
    }

    /// Writes `<prefix>/data.pkl`, `<prefix>/data/<key>` records, a version record and any extra members.
    static func write(pickle: PickleValue, records: [String: [UInt8]], prefix: String = "archive",
                      extra: [(String, [UInt8])] = [], rawPickle: [UInt8]? = nil, omitPickle: Bool = false) throws -> String {
        let dir = TestPaths.temporaryDirectory("graft-torch")
        let path = dir.appendingPathComponent("ckpt.pth").path
        let writer = try ZipWriter(destination: path)
        if !omitPickle {
            try writer.add(name: "\(prefix)/data.pkl", data: ByteBuffer(try rawPickle ?? PickleWriter().encode(pickle)))
        }
        for (key, bytes) in records.sorted(by: { $0.key < $1.key }) {
            try writer.add(name: "\(prefix)/data/\(key)", data: ByteBuffer(bytes))
        }
        try writer.add(name: "\(prefix)/version", data: ByteBuffer(Array("3\n".utf8)))
        for (name, bytes) in extra { try writer.add(name: name, data: ByteBuffer(bytes)) }
        try writer.commit()
        return path
    }
}
