import GraftImage
import GraftModels
import GraftModelsXNN

/// Every choice of a fine-tuning run.
public struct FineTuneSettings: Sendable {
    public enum OptimizerKind: String, Sendable, CaseIterable {
        case sgd, adamw

        /// The weight decay a run uses unless told otherwise: SGD 1e-4 (torchvision's reference
        /// recipe), AdamW 0.01 (`torch.optim.AdamW`'s own default; decoupled decay wants a larger value).
        public var defaultWeightDecay: Double {
            switch self {
            case .sgd: return 1e-4
            case .adamw: return 0.01
            }
        }
    }

    public var epochs = 5
    public var batchSize = 16
    public var seed: UInt64 = 0
    public var optimizer: OptimizerKind = .sgd
    /// SGD momentum or Adam β1 (one-cycle overrides it per step).
    public var momentum: Double = 0.9
    public var nesterov = false
    /// Weight decay of the decayed groups: the optimizer's `defaultWeightDecay` until set.
    public var weightDecay: Double {
        get { chosenWeightDecay ?? optimizer.defaultWeightDecay }
        set { chosenWeightDecay = newValue }
    }
    private var chosenWeightDecay: Double?
    /// Apply weight decay to BatchNorm parameters and biases too (off by default, as fastai and timm).
    public var decayNormAndBias = false
    public var learningRate: LearningRateSpec = .single(1e-3)
    public var layerDecay: Double?
    /// Module-path prefixes where layer groups start (overrides the architecture's split).
    public var groupBoundaries: [String]?
    public var schedule: Schedule = .fastaiOneCycle
    public var labelSmoothing: Float = 0
    public var freeze: FreezeSpec = .backbone
    /// (epoch, group index or module path): parameters to unfreeze when that epoch starts (1-based).
    public var unfreezeAt: [(epoch: Int, target: String)] = []
    public var bn: BNPolicy = .frozen
    public var augment = true
    /// What augmenting means when `augment` is on (`--augment`): `light` (RandomResizedCrop + flip) by default.
    public var augmentation: AugmentRecipe = .light
    /// Train the head on cached features even if augmentation is on (augmentation is then skipped).
    public var forceFeatureCache = false
    /// The engine of the feature cache's forward passes (training runs on Graft's kernels): `.auto`
    /// takes XNNPACK wherever it covers the network, except the families measured faster on Graft's
    /// kernels — decided by that rule, not by timing, so runs stay reproducible.
    public var featureEngine: InferenceEngineChoice = .auto
    public var headDropout: Float?
    /// timm ModelEmaV3 decay (with warm-up): validation and the saved store use the averaged weights.
    public var ema: Double?
    /// Stop after this many epochs without a lower validation loss, keeping the best epoch's weights.
    public var earlyStopPatience: Int?
    /// Class imbalance: draw training images with probability 1/count of their class (torch's
    /// WeightedRandomSampler, with replacement), or weight the loss by n / (K · count) (sklearn's "balanced").
    public var balance: Balance?
    /// MixUp / CutMix (timm's Mixup in batch mode); off unless an alpha is set.
    public var mixup = MixUpSettings()
    /// Test-time augmentation of the validation images (flip: the image and its mirror, probabilities averaged).
    public var tta: TTAMode?

    public enum Balance: String, Sendable, CaseIterable { case sampler, loss }

    public init() {}

    /// The run in one line (a fine-tuned store's notes): epochs, batch, optimizer, learning rates,
    /// schedule, freezing and BatchNorm policy.
    public var summary: String {
        var parts = ["\(epochs) epochs", "batch \(batchSize)", "\(optimizer.rawValue) lr \(learningRate)"]
        if let layerDecay { parts[2] += " layer decay \(layerDecay)" }
        parts += ["weight decay \(weightDecay)", "schedule \(schedule)", "freeze \(freeze)", "bn \(bn.rawValue)"]
        parts.append("augment " + (augment ? augmentation.description : "none"))
        if let ema { parts.append("ema \(ema)") }
        if let earlyStopPatience { parts.append("early stop \(earlyStopPatience)") }
        if let balance { parts.append("balance \(balance.rawValue)") }
        if mixup.mixupAlpha > 0 { parts.append("mixup \(mixup.mixupAlpha)") }
        if mixup.cutmixAlpha > 0 { parts.append("cutmix \(mixup.cutmixAlpha)") }
        if let tta { parts.append("tta \(tta.rawValue)") }
        if !unfreezeAt.isEmpty { parts.append("unfreeze " + unfreezeAt.map { "\($0.epoch):\($0.target)" }.joined(separator: ",")) }
        return parts.joined(separator: ", ")
    }
}

extension FineTuneSettings {
    /// The same settings with every module path (`--freeze until:`, `--unfreeze-at`, `--groups`)
    /// in the model's own naming: a path written in the checkpoint's naming (efficientnet_pytorch,
    /// timm, Keras) is translated; an unknown one is an error listing the valid paths.
    public func resolvingModulePaths(_ loaded: LoadedModel) throws -> FineTuneSettings {
        var s = self
        if case .until(let path) = freeze { s.freeze = .until(try loaded.modulePath(for: path)) }
        s.unfreezeAt = try unfreezeAt.map { item in
            Int(item.target) != nil ? item : (item.epoch, try loaded.modulePath(for: item.target))
        }
        s.groupBoundaries = try groupBoundaries?.map { try loaded.modulePath(for: $0) }
        return s
    }
}

extension FineTuneSettings {
    /// Training a network from scratch: every parameter in one group at `learningRate`, nothing
    /// frozen, BatchNorm in training mode, the one-cycle schedule.
    public static func fromScratch(epochs: Int, batchSize: Int = 32, learningRate: Double, seed: UInt64 = 0) -> FineTuneSettings {
        var s = FineTuneSettings()
        s.epochs = epochs
        s.batchSize = batchSize
        s.seed = seed
        s.learningRate = .single(learningRate)
        s.groupBoundaries = []
        s.freeze = .none
        s.bn = .train
        return s
    }
}
