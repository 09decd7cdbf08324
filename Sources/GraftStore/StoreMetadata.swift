import Foundation

/// Provenance and model facts carried in a store's safetensors `__metadata__` (string → string).
///
/// Structured values are JSON text inside the strings. Keys Graft does not know are kept, so a store
/// round-trips through Graft without losing what another tool wrote.
public struct StoreMetadata: Sendable, Equatable {
    public var sourceFile: String?
    public var sourceSHA256: String?
    public var sourceFormat: String?
    public var normalization: NormalizationReport?
    /// Architecture name as Graft's zoo spells it (`resnet50`, `efficientnet_b0`, `ResNet50` for Keras).
    public var arch: String?
    /// Weight version (`ResNet50_Weights.IMAGENET1K_V2`).
    public var weights: String?
    /// The eval preprocessing as JSON (resize, crop, interpolation, mean, std, …).
    public var preprocessing: String?
    /// Class names in output order.
    public var classes: [String]?
    /// What the source model applies after its logits (`softmax`, `sigmoid`, `linear`): a Keras
    /// model's classifier activation. Absent means the outputs are the logits (PyTorch's convention).
    public var outputActivation: String?
    /// Layout changes applied at import (Keras HWIO → OIHW, …), one line each.
    public var layoutChanges: [String]?
    /// The tensors' state-dict order, when the file's layout order (widest dtype first) differs.
    public var order: [String]?
    /// Anything else worth keeping (container notes, hash warnings).
    public var notes: [String] = []
    /// Metadata keys written by other tools, preserved as they were.
    public var foreign: [String: String] = [:]

    public init() {}

    static let prefix = "graft."

    /// The `__metadata__` entries, `format: pt` first as the safetensors convention has it.
    public func encoded() -> [(key: String, value: String)] {
        var out: [(key: String, value: String)] = [("format", foreign["format"] ?? "pt")]
        func put(_ key: String, _ value: String?) { if let value { out.append(("\(Self.prefix)\(key)", value)) } }
        put("source_file", sourceFile)
        put("source_sha256", sourceSHA256)
        put("source_format", sourceFormat)
        put("normalization", normalization.flatMap(Self.json))
        put("arch", arch)
        put("weights", weights)
        put("preprocessing", preprocessing)
        put("classes", classes.flatMap(Self.json))
        put("output_activation", outputActivation)
        put("layout_changes", layoutChanges.flatMap(Self.json))
        put("notes", notes.isEmpty ? nil : Self.json(notes))
        put("order", order.flatMap(Self.json))
        for (k, v) in foreign.sorted(by: { $0.key < $1.key }) where k != "format" { out.append((k, v)) }
        return out
    }

    /// Reads the entries back; unknown keys land in `foreign`.
    public init(decoding entries: [String: String]) {
        self.init()
        for (key, value) in entries {
            guard key.hasPrefix(Self.prefix) else { foreign[key] = value; continue }
            switch String(key.dropFirst(Self.prefix.count)) {
            case "source_file": sourceFile = value
            case "source_sha256": sourceSHA256 = value
            case "source_format": sourceFormat = value
            case "normalization": normalization = Self.decode(NormalizationReport.self, value)
            case "arch": arch = value
            case "weights": weights = value
            case "preprocessing": preprocessing = value
            case "classes": classes = Self.decode([String].self, value)
            case "output_activation": outputActivation = value
            case "layout_changes": layoutChanges = Self.decode([String].self, value)
            case "notes": notes = Self.decode([String].self, value) ?? []
            case "order": order = Self.decode([String].self, value)
            default: foreign[key] = value
            }
        }
    }

    static func json<T: Encodable>(_ value: T) -> String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
