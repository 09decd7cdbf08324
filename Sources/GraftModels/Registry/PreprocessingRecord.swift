import Foundation
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

extension StoreMetadata {
    /// `graft.preprocessing` as the pipeline it records — stores from before pipelines hold a bare
    /// torchvision preset, read as one. Nil when the store records none; a record that is present but
    /// unreadable is a `PreprocessingRecordError` naming `store`.
    public func recordedPipeline(store: String) throws -> ImagePipeline? {
        guard let json = preprocessing else { return nil }
        let data = Data(json.utf8)
        if let pipeline = try? JSONDecoder().decode(ImagePipeline.self, from: data) { return pipeline }
        if let preset = try? JSONDecoder().decode(ClassificationPreset.self, from: data) { return .torchvision(preset) }
        let isJSON = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
        let shown = json.count > 80 ? String(json.prefix(80)) + "…" : json
        throw PreprocessingRecordError(
            store: store, reason: isJSON ? "neither an image pipeline nor a torchvision preset: \(shown)" : "not JSON: \(shown)")
    }

    /// Records `pipeline` as `graft.preprocessing` (throws only for values JSON cannot hold, such as a NaN mean).
    public mutating func record(_ pipeline: ImagePipeline) throws {
        preprocessing = String(decoding: try JSONEncoder().encode(pipeline), as: UTF8.self)
    }
}

extension WeightStore {
    /// The store's recorded preprocessing; an unreadable record is an error naming this store.
    public func recordedPipeline() throws -> ImagePipeline? {
        try metadata.recordedPipeline(store: sourcePath.isEmpty ? "the store in memory" : sourcePath)
    }
}
