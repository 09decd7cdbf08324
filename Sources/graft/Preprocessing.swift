import Foundation
import Graft

/// Chooses the eval preprocessing and class names for a model, as a user of torchvision or Keras would
/// expect: an explicit `--weights`, else what a store recorded, else the architecture's DEFAULT weights
/// (Keras architectures: `load_img` at their default size + `preprocess_input`).
struct PreprocessingChoice {
    let pipeline: ImagePipeline
    let source: String
    let classes: [String]?

    static func resolve(weights: String?, arch: String?, metadata: StoreMetadata?) throws -> PreprocessingChoice {
        if let weights {
            let info = try lookupWeights(weights, arch: arch)
            return PreprocessingChoice(pipeline: .torchvision(info.preset), source: info.fullName, classes: info.classNames)
        }
        if let pipeline = metadata?.recordedPipeline {
            return PreprocessingChoice(pipeline: pipeline, source: "the store's recorded preprocessing", classes: metadata?.classes)
        }
        if let name = metadata?.weights, let info = try? WeightsRegistry.lookup(name, arch: arch) {
            return PreprocessingChoice(pipeline: .torchvision(info.preset), source: info.fullName,
                                       classes: metadata?.classes ?? info.classNames)
        }
        if let arch, let keras = KerasApplications.pipeline(for: arch) {
            return PreprocessingChoice(pipeline: keras, source: "keras.applications \(arch)",
                                       classes: metadata?.classes ?? ImageNet.classes)
        }
        if let arch, let info = WeightsRegistry.defaultWeights(for: arch) {
            return PreprocessingChoice(pipeline: .torchvision(info.preset), source: "\(info.fullName) (DEFAULT)",
                                       classes: metadata?.classes ?? info.classNames)
        }
        return PreprocessingChoice(pipeline: .torchvision(.imagenetV1),
                                   source: "ImageNet V1 preset (resize 256, crop 224, bilinear)", classes: metadata?.classes)
    }
}

/// A weight version by name: qualified (`ResNet50_Weights.IMAGENET1K_V2`) on its own, short
/// (`IMAGENET1K_V2`, `DEFAULT`) for `arch`.
func lookupWeights(_ weights: String, arch: String?) throws -> WeightsInfo {
    try WeightsRegistry.lookup(weights, arch: weights.contains(".") ? nil : arch)
}

extension StoreMetadata {
    /// `graft.preprocessing` as the pipeline it records (stores from before pipelines hold a bare
    /// torchvision preset); nil when absent or unreadable.
    var recordedPipeline: ImagePipeline? {
        guard let json = preprocessing else { return nil }
        let data = Data(json.utf8)
        if let pipeline = try? JSONDecoder().decode(ImagePipeline.self, from: data) { return pipeline }
        return (try? JSONDecoder().decode(ClassificationPreset.self, from: data)).map { .torchvision($0) }
    }

    /// Records `pipeline` as `graft.preprocessing`.
    mutating func record(_ pipeline: ImagePipeline) throws {
        preprocessing = String(decoding: try JSONEncoder().encode(pipeline), as: UTF8.self)
    }
}
