import Foundation
import GraftCore

/// The parts of a timm `config.json` Graft uses, read from an untrusted file: at most 1 MiB and 32
/// levels of nesting, every field checked for its type and range, an error naming the field otherwise.
/// Fields Graft does not use are ignored.
public struct TimmConfig: Sendable, Equatable {
    /// timm's model name (`resnet50`, `efficientnet_b0`), without the pretrained tag.
    public var architecture: String
    public var numClasses: Int?
    public var numFeatures: Int?
    public var labelNames: [String]?
    public var pretrained: Pretrained?
    /// `model_args` BatchNorm eps (`bn_eps`), when given.
    public var bnEps: Double?
    /// `model_args` keys other than `bn_eps`, reported rather than silently dropped.
    public var otherModelArgs: [String] = []

    /// The eval preprocessing fields of `pretrained_cfg`; absent ones take timm's defaults later.
    public struct Pretrained: Sendable, Equatable {
        public var tag: String?
        /// (channels, height, width).
        public var inputSize: [Int]?
        public var interpolation: String?
        public var cropPct: Double?
        public var cropMode: String?
        public var mean: [Double]?
        public var std: [Double]?
        public var numClasses: Int?

        public init() {}
    }

    public static let byteLimit = 1 << 20
    public static let depthLimit = 32

    public init(architecture: String) { self.architecture = architecture }

    public static func read(_ path: String) throws -> TimmConfig {
        try parse(try BoundedFile.read(path, limit: byteLimit), file: path)
    }

    public static func parse(_ data: Data, file: String) throws -> TimmConfig {
        guard data.count <= byteLimit else { throw TimmFolderError.tooLarge(file: file, limit: byteLimit) }
        // Nesting is checked before a recursive parser sees the text.
        let depth = nestingDepth(data)
        guard depth <= depthLimit else {
            throw TimmFolderError.unreadable(file: file, reason: "nested \(depth) levels deep, more than \(depthLimit)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let root = object as? [String: Any] else {
            throw TimmFolderError.unreadable(file: file, reason: "not a JSON object")
        }
        let fields = Fields(file: file)
        guard let arch = try fields.string(root, "architecture") else {
            throw TimmFolderError.badField(file: file, field: "architecture", reason: "is missing")
        }
        guard arch.count <= 200, arch.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) else {
            throw TimmFolderError.badField(file: file, field: "architecture", reason: "is no timm model name: \(SafeText.quoted(arch, limit: 80))")
        }
        var config = TimmConfig(architecture: arch)
        config.numClasses = try fields.int(root, "num_classes", 0...1_000_000)
        config.numFeatures = try fields.int(root, "num_features", 1...1_000_000)
        config.labelNames = try fields.strings(root, "label_names", count: 1...1_000_000, length: 1000)
        if let names = config.labelNames, let n = config.numClasses, names.count != n {
            throw TimmFolderError.badField(file: file, field: "label_names", reason: "has \(names.count) names for \(n) classes")
        }
        if let args = try fields.object(root, "model_args") {
            config.bnEps = try fields.double(args, "bn_eps", field: "model_args.bn_eps", 1e-12...1)
            // Arguments that change nothing Graft builds from the shapes are not worth a note.
            let inert: Set<String> = ["bn_eps", "num_classes", "in_chans", "global_pool", "drop_rate", "drop_path_rate"]
            config.otherModelArgs = args.keys.filter { !inert.contains($0) }.sorted().map { SafeText.quoted($0, limit: 60) }
        }
        if let cfg = try fields.object(root, "pretrained_cfg") {
            var p = Pretrained()
            p.tag = try fields.string(cfg, "tag", field: "pretrained_cfg.tag")
            p.inputSize = try fields.ints(cfg, "input_size", field: "pretrained_cfg.input_size", count: 3, 1...4096)
            p.interpolation = try fields.string(cfg, "interpolation", field: "pretrained_cfg.interpolation")
            p.cropPct = try fields.double(cfg, "crop_pct", field: "pretrained_cfg.crop_pct", 0.01...10)
            p.cropMode = try fields.string(cfg, "crop_mode", field: "pretrained_cfg.crop_mode")
            p.mean = try fields.doubles(cfg, "mean", field: "pretrained_cfg.mean", count: 3)
            p.std = try fields.doubles(cfg, "std", field: "pretrained_cfg.std", count: 3)
            p.numClasses = try fields.int(cfg, "num_classes", 0...1_000_000, field: "pretrained_cfg.num_classes")
            config.pretrained = p
        }
        return config
    }

    /// The deepest nesting of `[` and `{` outside strings.
    static func nestingDepth(_ data: Data) -> Int {
        var depth = 0, deepest = 0, inString = false, escaped = false
        for byte in data {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1; deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }
}

/// Typed reads of one config's fields: absent (or JSON null) is nil, a wrong type or range an error.
private struct Fields {
    let file: String

    func fail(_ field: String, _ reason: String) -> TimmFolderError { .badField(file: file, field: field, reason: reason) }

    func value(_ object: [String: Any], _ key: String) -> Any? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        return v
    }

    /// JSON numbers arrive as NSNumber; a Bool is one too, and is refused where a number is meant.
    func number(_ v: Any) -> NSNumber? {
        guard let n = v as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
        return n
    }

    func string(_ object: [String: Any], _ key: String, field: String? = nil) throws -> String? {
        guard let v = value(object, key) else { return nil }
        guard let s = v as? String, s.count <= 1000 else { throw fail(field ?? key, "is not a string of at most 1000 characters") }
        return s
    }

    func int(_ object: [String: Any], _ key: String, _ range: ClosedRange<Int>, field: String? = nil) throws -> Int? {
        guard let v = value(object, key) else { return nil }
        guard let n = number(v), let d = Optional(n.doubleValue), d.rounded() == d, d >= Double(range.lowerBound),
              d <= Double(range.upperBound) else {
            throw fail(field ?? key, "is not a whole number in \(range.lowerBound)…\(range.upperBound)")
        }
        return Int(d)
    }

    func double(_ object: [String: Any], _ key: String, field: String, _ range: ClosedRange<Double>) throws -> Double? {
        guard let v = value(object, key) else { return nil }
        guard let d = number(v)?.doubleValue, d.isFinite, range.contains(d) else {
            throw fail(field, "is not a number in \(range.lowerBound)…\(range.upperBound)")
        }
        return d
    }

    func doubles(_ object: [String: Any], _ key: String, field: String, count: Int) throws -> [Double]? {
        guard let v = value(object, key) else { return nil }
        guard let list = v as? [Any], list.count == count else { throw fail(field, "is not a list of \(count) numbers") }
        return try list.map { item in
            guard let d = number(item)?.doubleValue, d.isFinite, abs(d) <= 1000 else {
                throw fail(field, "holds something other than a finite number up to 1000")
            }
            return d
        }
    }

    func ints(_ object: [String: Any], _ key: String, field: String, count: Int, _ range: ClosedRange<Int>) throws -> [Int]? {
        guard let v = value(object, key) else { return nil }
        guard let list = v as? [Any], list.count == count else { throw fail(field, "is not a list of \(count) whole numbers") }
        return try list.map { item in
            guard let d = number(item)?.doubleValue, d.rounded() == d, d >= Double(range.lowerBound), d <= Double(range.upperBound) else {
                throw fail(field, "holds something other than a whole number in \(range.lowerBound)…\(range.upperBound)")
            }
            return Int(d)
        }
    }

    func strings(_ object: [String: Any], _ key: String, count: ClosedRange<Int>, length: Int) throws -> [String]? {
        guard let v = value(object, key) else { return nil }
        guard let list = v as? [Any], count.contains(list.count) else { throw fail(key, "is not a list of names") }
        return try list.map { item in
            guard let s = item as? String, s.count <= length else { throw fail(key, "holds something other than a name of at most \(length) characters") }
            return s
        }
    }

    func object(_ object: [String: Any], _ key: String) throws -> [String: Any]? {
        guard let v = value(object, key) else { return nil }
        guard let o = v as? [String: Any] else { throw fail(key, "is not an object") }
        return o
    }
}
