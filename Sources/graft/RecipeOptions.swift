import ArgumentParser
import Foundation
import Graft

extension BNPolicy: ExpressibleByArgument {}
extension FineTuneSettings.OptimizerKind: ExpressibleByArgument {}
extension LRSuggestion.Method: ExpressibleByArgument {}
extension TTAMode: ExpressibleByArgument {}
extension FineTuneSettings.Balance: ExpressibleByArgument {}

/// What `finetune` and `lr-find` share: the model, the data, and the recipe (optimizer, freezing,
/// BatchNorm policy, augmentation, head).
struct RecipeOptions: ParsableArguments {
    @OptionGroup var model: ModelOptions
    @Option(help: "Weights whose preprocessing to use (default: the store's, else the arch's DEFAULT).") var weights: String?
    @Option(help: "The image folder.") var data: String
    @Option(help: "Hold out this fraction of each class for validation when DATA has no val/ folder.") var valSplit: Double?
    @Option var seed: UInt64 = 0
    @Option var batch = 16
    @Option(help: "sgd or adamw.") var optimizer: FineTuneSettings.OptimizerKind = .sgd
    @Option(help: "timm-style layer-wise decay (per block groups, lr × decay^(depth from the head)).") var layerDecay: Double?
    @Option(help: "Comma-separated module paths where layer groups start (overrides the architecture's split).")
    var groups: String?
    @Option(help: "SGD momentum or Adam β1.") var momentum = 0.9
    @Flag var nesterov = false
    @Option(help: ArgumentHelp("Weight decay (default: " + FineTuneSettings.OptimizerKind.allCases
                               .map { "\($0.defaultWeightDecay) with \($0.rawValue)" }.joined(separator: ", ") + ")."))
    var weightDecay: Double?
    @Flag(help: "Also decay BatchNorm parameters and biases.") var decayBNBias = false
    @Option var labelSmoothing: Float = 0
    @Option(help: "none, backbone, or until:MODULE (freeze every module before it).") var freeze = "backbone"
    @Option(help: "BatchNorm inside frozen parts: frozen, train-affine (fastai train_bn) or train.") var bn: BNPolicy = .frozen
    @Option(help: ArgumentHelp(
        "Training augmentation: none, light (rrc,flip), trivial (rrc,flip,trivial), randaugment (rrc,flip,randaugment:2:9), or a list such as rrc,flip,rotate:15,jitter:0.2:0.2:0.2,erase:0.25.",
        valueName: "recipe"))
    var augment = "light"
    @Flag(help: "No augmentation (the same as --augment none).") var noAugment = false
    @Flag(help: "Train the head on cached backbone features (skips augmentation).") var cacheFeatures = false
    @Option(help: "Engine of the feature cache: auto (XNNPACK where it covers the network, except VGG and ConvNeXt), graft or xnnpack.")
    var engine: InferenceEngineChoice = .auto
    @Option(help: "Dropout before the new head.") var headDropout: Float?
    @Option(help: "MixUp with λ ~ Beta(ALPHA, ALPHA) per batch (timm's --mixup; e.g. 0.8).") var mixup: Double?
    @Option(help: "CutMix with λ ~ Beta(ALPHA, ALPHA) per batch (timm's --cutmix; e.g. 1.0); with --mixup, half the batches each.")
    var cutmix: Double?
    @Flag(help: "Start rows of classes whose names match the pretrained classes from the pretrained rows.")
    var keepMatchingClasses = false

    /// The recipe's settings (epochs, rates, schedule and unfreezing are the command's).
    func settings() throws -> FineTuneSettings {
        var s = FineTuneSettings()
        s.batchSize = batch
        s.featureEngine = engine
        s.seed = seed
        s.optimizer = optimizer
        s.layerDecay = layerDecay
        s.groupBoundaries = groups.map { $0.split(separator: ",").map(String.init) }
        s.momentum = momentum
        s.nesterov = nesterov
        if let weightDecay { s.weightDecay = weightDecay }
        s.decayNormAndBias = decayBNBias
        s.labelSmoothing = labelSmoothing
        guard let f = FreezeSpec(parsing: freeze) else { throw ValidationError("--freeze: none, backbone or until:MODULE") }
        s.freeze = f
        s.bn = bn
        let recipe: AugmentRecipe
        do { recipe = try AugmentRecipe(parsing: noAugment ? "none" : augment) } catch {
            throw ValidationError("--augment: \(error)")
        }
        if noAugment && augment != "light" && augment != "none" {
            throw ValidationError("--no-augment contradicts --augment \(augment)")
        }
        s.augmentation = recipe
        s.augment = !recipe.isNone && !cacheFeatures
        s.forceFeatureCache = cacheFeatures
        s.headDropout = headDropout
        for (flag, alpha) in [("--mixup", mixup), ("--cutmix", cutmix)] {
            if let alpha, !(alpha > 0 && alpha.isFinite) { throw ValidationError("\(flag): an alpha above 0, such as 0.8 or 1.0") }
        }
        s.mixup = MixUpSettings(mixupAlpha: mixup ?? 0, cutmixAlpha: cutmix ?? 0)
        if s.mixup.isEnabled && cacheFeatures {
            throw ValidationError("--mixup/--cutmix mix images: they cannot train on --cache-features")
        }
        return s
    }

    /// The model with its new head, the data and the preprocessing, ready for a `FineTuner`.
    struct Prepared {
        let store: WeightStore
        let arch: String
        let model: Model
        let settings: FineTuneSettings
        let choice: PreprocessingChoice
        let dataset: ImageFolder
        let notes: [String]

        /// A tuner over the prepared model with `settings`, warning about unreadable images.
        /// A tuner over the prepared model with `settings`, warning about unreadable images (the first
        /// `BadImageWarnings.limit`, then one line saying how many more were skipped).
        func tuner(_ settings: FineTuneSettings) throws -> FineTuner {
            let t = try reportingErrors(file: dataset.root) {
                try FineTuner(model: model, data: dataset, pipeline: choice.pipeline, settings: settings)
            }
            let warnings = BadImageWarnings()
            t.loader.onBadImage = { _, error in warnings.report(error) }
            return t
        }
    }

    func prepare(_ parsed: FineTuneSettings) throws -> Prepared {
        let (store, loaded, arch) = try reportingErrors(file: model.checkpoint) { try model.load() }
        let s = try reportingErrors(file: model.checkpoint) { try parsed.resolvingModulePaths(loaded) }
        let choice = try reportingErrors(file: model.checkpoint) {
            try PreprocessingChoice.resolve(weights: weights, arch: arch, store: store)
        }
        let dataset = try reportingErrors(file: data) { try ImageFolder.load(data, valSplit: valSplit, seed: seed) }
        let notes = try HeadReplacement.replace(loaded.model, classes: dataset.classes, seed: seed,
                                                keepMatchingClasses: keepMatchingClasses, pretrainedClasses: choice.classes)
        return Prepared(store: store, arch: arch, model: loaded.model, settings: s, choice: choice, dataset: dataset, notes: notes)
    }
}

/// Warnings for unreadable images, bounded: a folder of thousands of broken files gives a few lines,
/// not thousands.
final class BadImageWarnings: @unchecked Sendable {
    static let limit = 10
    private var count = 0
    private let lock = NSLock()

    func report(_ error: Error) {
        lock.lock()
        count += 1
        let n = count
        lock.unlock()
        if n <= Self.limit {
            printWarning("graft: warning: \(String(describing: error).escapedForTerminal) (skipped)")
        } else if n == Self.limit + 1 {
            printWarning("graft: warning: more unreadable images are skipped without a warning each")
        }
    }
}
