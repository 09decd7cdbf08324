import Foundation
import GraftTestSupport

/// Deterministic ways to spoil a committed fixture, so the catalogue commits no hostile binaries:
/// cuts, bit flips and byte patches at fixed places.
enum Mutate {
    static func fixture(_ name: String) throws -> [UInt8] { try TestPaths.fixtureBytes(name) }

    /// The first `fraction` of the file (0 < fraction < 1), at least one byte short of it.
    static func truncated(_ bytes: [UInt8], fraction: Double) -> [UInt8] {
        Array(bytes.prefix(min(bytes.count - 1, Int(Double(bytes.count) * fraction))))
    }

    /// The bytes at `offset` xor-ed with `mask`.
    static func flipped(_ bytes: [UInt8], at offset: Int, mask: UInt8 = 0xFF) -> [UInt8] {
        var b = bytes
        b[offset] ^= mask
        return b
    }

    /// The first occurrence of `old` replaced by `new` (same length keeps every offset in place).
    static func patched(_ bytes: [UInt8], _ old: String, _ new: String) throws -> [UInt8] {
        let o = Array(old.utf8), n = Array(new.utf8)
        guard let at = firstIndex(of: o, in: bytes) else { throw MutationError.notFound(old) }
        return Array(bytes[..<at]) + n + Array(bytes[(at + o.count)...])
    }

    static func firstIndex(of needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count else { return nil }
        outer: for i in 0...(hay.count - needle.count) {
            for j in 0..<needle.count where hay[i + j] != needle[j] { continue outer }
            return i
        }
        return nil
    }

    enum MutationError: Error { case notFound(String) }
}

/// A safetensors file taken apart into its header (a JSON object) and data, and put back together:
/// the store cases rewrite a real store's header and keep its tensors.
struct SafetensorsParts {
    var header: [String: Any]
    var data: [UInt8]

    init(_ bytes: [UInt8]) throws {
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any] ?? [:]
        data = Array(bytes[(8 + n)...])
    }

    static func fixture(_ name: String) throws -> SafetensorsParts { try SafetensorsParts(TestPaths.fixtureBytes(name)) }

    var metadata: [String: String] {
        get { header["__metadata__"] as? [String: String] ?? [:] }
        set { header["__metadata__"] = newValue }
    }

    /// Sets one tensor's field (`shape`, `dtype`, `data_offsets`).
    mutating func set(_ tensor: String, _ field: String, _ value: Any) {
        var entry = header[tensor] as? [String: Any] ?? [:]
        entry[field] = value
        header[tensor] = entry
    }

    var tensorNames: [String] { header.keys.filter { $0 != "__metadata__" }.sorted() }

    var bytes: [UInt8] {
        let json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data()
        return SafetensorsBytes.file(headerBytes: Array(json), data: data)
    }
}

/// The miniature stores and folders the store, timm and model-config cases start from.
enum Bases {
    /// A timm folder copied into `dir`, its config.json replaced by `config` (nil keeps it).
    static func timmFolder(_ name: String, into dir: URL, config: String?, weights: [UInt8]? = nil) throws {
        let source = URL(fileURLWithPath: TestPaths.fixture("timm/\(name)"))
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        if let config { try Data(config.utf8).write(to: dir.appendingPathComponent("config.json")) }
        if let weights { try Data(weights).write(to: dir.appendingPathComponent("model.safetensors")) }
    }

    /// The timm folder's weights as parts, to mutate.
    static func timmWeights(_ name: String) throws -> SafetensorsParts {
        let folder = URL(fileURLWithPath: TestPaths.fixture("timm/\(name)"))
        return try SafetensorsParts(Array(try Data(contentsOf: folder.appendingPathComponent("model.safetensors"))))
    }

    /// An image folder of `classes` (train/ and val/), each holding `files` made by `make`.
    static func imageFolder(_ dir: URL, classes: [String], files: [String: [UInt8]], splits: [String] = ["train", "val"]) throws {
        for split in splits {
            for c in classes {
                let d = dir.appendingPathComponent(split).appendingPathComponent(c)
                try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
                for (name, bytes) in files { try Data(bytes).write(to: d.appendingPathComponent(name)) }
            }
        }
    }
}

/// A .npy file: version 1 header padded to 64 bytes, then `payload`.
enum NpyBytes {
    static func file(descr: String = "<f4", shape: [Int], payload: [UInt8], headerOverride: String? = nil) -> [UInt8] {
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var header = headerOverride ?? "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        return raw(version: 1, headerLength: header.utf8.count, Array(header.utf8) + payload)
    }

    /// The magic, a version and a declared header length, then `rest` as is.
    static func raw(version: UInt8, headerLength n: Int, _ rest: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x93]
        out += Array("NUMPY".utf8)
        out += [version, 0, UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF)]
        return out + rest
    }

    static func float32(shape: [Int], _ value: Float) -> [UInt8] {
        let count = shape.reduce(1, *)
        return file(shape: shape, payload: SafetensorsBytes.float32([Float](repeating: value, count: count)))
    }
}
