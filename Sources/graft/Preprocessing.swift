import Foundation
import Graft

/// Chooses the eval preprocessing and class names for a model, as a user of torchvision would expect:
/// an explicit `--weights`, else what a store recorded, else the architecture's DEFAULT weights.
struct PreprocessingChoice {
    let preset: ClassificationPreset
    let source: String
    let classes: [String]?

    static func resolve(weights: String?, arch: String?, metadata: StoreMetadata?) throws -> PreprocessingChoice {
        if let weights {
            let info = try WeightsRegistry.lookup(weights, arch: weights.contains(".") ? nil : arch)
            return PreprocessingChoice(preset: info.preset, source: info.fullName, classes: info.classNames)
        }
        if let json = metadata?.preprocessing, let preset = try? JSONDecoder().decode(ClassificationPreset.self, from: Data(json.utf8)) {
            return PreprocessingChoice(preset: preset, source: "the store's recorded preprocessing",
                                       classes: metadata?.classes)
        }
        if let name = metadata?.weights, let info = try? WeightsRegistry.lookup(name, arch: arch) {
            return PreprocessingChoice(preset: info.preset, source: info.fullName, classes: metadata?.classes ?? info.classNames)
        }
        if let arch, let info = WeightsRegistry.defaultWeights(for: arch) {
            return PreprocessingChoice(preset: info.preset, source: "\(info.fullName) (DEFAULT)",
                                       classes: metadata?.classes ?? info.classNames)
        }
        return PreprocessingChoice(preset: .imagenetV1, source: "ImageNet V1 preset (resize 256, crop 224, bilinear)",
                                   classes: metadata?.classes)
    }
}
