import GraftImage
import GraftStore

/// The eval preprocessing and class names for a model, chosen as a user of torchvision or Keras would
/// expect: named weights, else what the store recorded, else the architecture's DEFAULT weights
/// (Keras architectures: `load_img` at their default size + `preprocess_input`), else ImageNet's V1
/// preset.
public struct PreprocessingChoice: Sendable, Equatable {
    public let pipeline: ImagePipeline
    /// Where the pipeline came from, for people (`ResNet50_Weights.IMAGENET1K_V2`, "the store's
    /// recorded preprocessing", …).
    public let source: String
    /// Class names in output order, when known.
    public let classes: [String]?
    /// The registry weights it was chosen by, when they were named (given, or recorded by the store);
    /// nil for a recorded pipeline and for the fallbacks, which know nothing about the weights.
    public let weights: String?

    public init(pipeline: ImagePipeline, source: String, classes: [String]?, weights: String? = nil) {
        self.pipeline = pipeline
        self.source = source
        self.classes = classes
        self.weights = weights
    }

    /// Chooses for `arch` (which may be nil or a family name): `weights` (a registry name) wins, then
    /// `store`'s recorded pipeline and classes, then the weights it records, then the defaults. An
    /// unknown `weights` is a `WeightsLookupError`; an unreadable record a `PreprocessingRecordError`.
    public static func resolve(weights: String?, arch: String?, store: WeightStore? = nil) throws -> PreprocessingChoice {
        if let weights {
            let info = try WeightsRegistry.resolve(weights, arch: arch)
            return PreprocessingChoice(pipeline: .torchvision(info.preset), source: info.fullName, classes: info.classNames,
                                       weights: info.fullName)
        }
        let metadata = store?.metadata
        if let pipeline = try store?.recordedPipeline() {
            return PreprocessingChoice(pipeline: pipeline, source: "the store's recorded preprocessing", classes: metadata?.classes)
        }
        // `weights` is provenance text: a store written before names were checked may hold anything,
        // which then simply does not choose the preprocessing.
        if let name = metadata?.weights, let info = try? WeightsRegistry.resolve(name, arch: arch) {
            return PreprocessingChoice(pipeline: .torchvision(info.preset), source: info.fullName,
                                       classes: metadata?.classes ?? info.classNames, weights: info.fullName)
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

extension WeightsRegistry {
    /// A weight version as a user names it: qualified (`ResNet50_Weights.IMAGENET1K_V2`) on its own —
    /// so it also serves a family architecture such as `resnet` — or short (`IMAGENET1K_V2`, `DEFAULT`)
    /// relative to `arch`.
    public static func resolve(_ weights: String, arch: String?) throws -> WeightsInfo {
        try lookup(weights, arch: weights.contains(".") ? nil : arch)
    }
}
