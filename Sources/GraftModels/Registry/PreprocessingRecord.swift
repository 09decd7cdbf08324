import Foundation
import GraftCore
import GraftImage
import GraftStore

// The store keeps `graft.preprocessing` as opaque JSON text (GraftStore knows no image code); reading
// and writing it as an `ImagePipeline` lives here, where pipelines and the registry meet.

/// A store's `graft.preprocessing` is present but is no preprocessing Graft can read. Not ignored:
/// falling back to another preset would run the model on differently prepared images without a word.
public struct PreprocessingRecordError: Error, CustomStringConvertible, Equatable {
    /// The store whose record it is (its path, or a description for a store in memory).
    public let store: String
    public let reason: String

    public var description: String {
        "\(store): its graft.preprocessing metadata cannot be read (\(reason)); record it again or name the weights"
    }
}

/// A preprocessing that no store records: what `record` refuses (sizes, statistics; see `implausibility`).
public struct ImplausiblePreprocessing: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public var description: String { "implausible preprocessing: \(reason)" }
}

extension StoreMetadata {
    /// `graft.preprocessing` as the pipeline it records — stores from before pipelines hold a bare
    /// torchvision preset, read as one. Nil when the store records none; a record that is present but
    /// unreadable is a `PreprocessingRecordError` naming `store`.
    public func recordedPipeline(store: String) throws -> ImagePipeline? {
        guard let json = preprocessing else { return nil }
        let shown = SafeText.quoted(json, quote: "'", limit: 80)
        // The record is the file's: a long or deeply nested text is not handed to a recursive decoder.
        guard json.utf8.count <= 4096, json.utf8.filter({ $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "{") }).count <= 16 else {
            throw PreprocessingRecordError(store: store, reason: "\(json.utf8.count) bytes, more than a preprocessing record holds: \(shown)")
        }
        let data = Data(json.utf8)
        let decoded = (try? JSONDecoder().decode(ImagePipeline.self, from: data))
            ?? (try? JSONDecoder().decode(ClassificationPreset.self, from: data)).map { ImagePipeline.torchvision($0) }
        guard let pipeline = decoded else {
            let isJSON = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
            throw PreprocessingRecordError(
                store: store, reason: isJSON ? "neither an image pipeline nor a torchvision preset: \(shown)" : "not JSON: \(shown)")
        }
        if let problem = Self.implausibility(of: pipeline) { throw PreprocessingRecordError(store: store, reason: problem) }
        return pipeline
    }

    /// Why a decoded pipeline is no preprocessing a model was trained with: sizes that would make one
    /// image gigabytes (torchvision's presets crop at most 600, Keras' at 600), a mean or std that is
    /// not a finite, plausible number, or not three channels.
    static func implausibility(of pipeline: ImagePipeline) -> String? {
        switch pipeline {
        case .torchvision(let p):
            guard (1...4096).contains(p.cropSize), (1...8192).contains(p.resizeSize) else {
                return "resize \(p.resizeSize) / crop \(p.cropSize) outside 1…8192 / 1…4096"
            }
            guard p.mean.count == 3, p.std.count == 3 else { return "mean and std need three values each" }
            guard p.mean.allSatisfy({ $0.isFinite && abs($0) <= 1000 }),
                  p.std.allSatisfy({ $0.isFinite && $0 >= 1e-6 && $0 <= 1000 }) else {
                return "mean \(p.mean) / std \(p.std) are not plausible per-channel statistics"
            }
        case .keras(let size, _):
            guard (1...4096).contains(size) else { return "Keras input size \(size) outside 1…4096" }
        }
        return nil
    }

    /// Records `pipeline` as `graft.preprocessing`; an implausible one (see `implausibility`) is refused.
    public mutating func record(_ pipeline: ImagePipeline) throws {
        if let problem = Self.implausibility(of: pipeline) { throw ImplausiblePreprocessing(reason: problem) }
        // Sorted keys: the same run writes the same bytes (dictionary order varies per process).
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        preprocessing = String(decoding: try encoder.encode(pipeline), as: UTF8.self)
    }
}

extension WeightStore {
    /// The store's recorded preprocessing; an unreadable record is an error naming this store.
    public func recordedPipeline() throws -> ImagePipeline? {
        try metadata.recordedPipeline(store: sourcePath.isEmpty ? "the store in memory" : sourcePath)
    }
}
