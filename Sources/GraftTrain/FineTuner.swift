import Dispatch
import Foundation
import GraftCore
import GraftImage
import GraftModels
import GraftModelsXNN
import GraftNN
import GraftTensor

/// One epoch's figures.
public struct EpochReport: Sendable, Codable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var valLoss: Double
    public var valAccuracy: Double
    public var valTop5: Double
    /// The head group's learning rate at the end of the epoch.
    public var learningRate: Double
    public var seconds: Double
    public var imagesPerSecond: Double
    public var cachedFeatures: Bool
    public var trainableParameters: Int
}

/// Progress of a running epoch, for a progress bar.
public struct BatchProgress: Sendable {
    public var epoch: Int
    public var batch: Int
    public var batches: Int
    public var loss: Double
    public var imagesPerSecond: Double
    public var etaSeconds: Double
}

/// Fine-tunes a model on an image folder: freezing and BatchNorm policy, discriminative learning
/// rates over layer groups, a schedule per step, progressive unfreezing, and — when the body is a
/// fixed feature extractor and no augmentation is asked for — training the head on features computed
/// once, so later epochs cost almost nothing.
public final class FineTuner {
    public let model: Model
    public let data: ImageFolder
    public let settings: FineTuneSettings
    public let loader: BatchLoader
    public let trainer: Trainer
    public private(set) var history: [EpochReport] = []
    public private(set) var lastValidation: EvaluationResult?
    /// Epochs completed (a resumed run starts after the checkpoint's).
    public private(set) var epochsDone = 0
    /// When set, a checkpoint is written there after every epoch (see `TrainingCheckpoint`).
    public var checkpointPath: String?
    /// Test hook: hold the finished checkpoint of this epoch this many seconds before renaming it into place.
    public var checkpointPause: (epoch: Int, seconds: Double)?
    /// Asked after every epoch's checkpoint: true stops the run there (Ctrl-C); `stoppedEarly` says so.
    public var shouldStop: () -> Bool = { false }
    public private(set) var stoppedEarly = false
    /// The averaged weights (`settings.ema`).
    public let ema: ModelEMA?
    /// The validation-loss tracker (`settings.earlyStopPatience`) and the best epoch's weights and figures.
    public internal(set) var earlyStopping: EarlyStopping?
    var bestWeights: [(name: String, tensor: RawTensor)]?
    public internal(set) var bestValidation: EvaluationResult?
    public var onBatch: (BatchProgress) -> Void = { _ in }
    public var onEpoch: (EpochReport, EvaluationResult) -> Void = { _, _ in }

    private var unfrozen: [Parameter] = []
    /// Body features and their labels (images that failed to load are in neither).
    private var cache: (train: Tensor, trainLabels: [Int], val: Tensor, valLabels: [Int])?
    /// The engine that computed the cached features ("graft" or "xnnpack"), once it has.
    public private(set) var featureEngineUsed: String?

    public init(model: Model, data: ImageFolder, pipeline: ImagePipeline, settings: FineTuneSettings) throws {
        // One class is no classification: every softmax is 1 and nothing can be learned or measured.
        guard data.classes.count >= 2 else { throw FineTuneError.singleClass(data.classes.first ?? "", folder: data.root) }
        self.model = model
        self.data = data
        self.settings = settings
        self.loader = BatchLoader(pipeline: pipeline, batchSize: settings.batchSize)
        loader.recipe = settings.augmentation
        if let p = settings.headDropout, p > 0 { model.setHeadDropout(Dropout(p)) }
        ema = settings.ema.map { ModelEMA(model.network.namedParameters(), decay: $0) }
        earlyStopping = settings.earlyStopPatience.map { EarlyStopping(patience: $0) }
        let perEpoch = (data.train.count + loader.batchSize - 1) / loader.batchSize
        trainer = Trainer(model: model, settings: settings, totalSteps: perEpoch * max(settings.epochs, 1), stepsPerEpoch: perEpoch)
        if settings.balance == .loss {
            trainer.classWeights = ClassBalance.lossWeights(labels: data.train.map(\.label), classes: data.classes.count)
        }
    }

    public var optimizer: Optimizer { trainer.optimizer }
    public var layerGroups: [(name: String, parameters: [Parameter])] { trainer.layerGroups }

    /// Runs the epochs not done yet, writing a checkpoint after each when `checkpointPath` is set.
    public func run() throws {
        let last = max(settings.epochs, 1)
        while epochsDone < last && !(earlyStopping?.shouldStop ?? false) {
            try runEpoch(epochsDone + 1)
            if let checkpointPath { try writeCheckpoint(to: checkpointPath) }
            if epochsDone < last && shouldStop() { stoppedEarly = true; return }
        }
    }

    /// Trains one epoch and validates.
    public func runEpoch(_ epoch: Int) throws {
        for (e, target) in settings.unfreezeAt where e == epoch { unfrozen += try parameters(for: target) }
        try Freezing.apply(model, freeze: settings.freeze, unfrozen: unfrozen, bn: settings.bn)
        let useCache = usesFeatureCache
        if !useCache { cache = nil }
        let start = DispatchTime.now().uptimeNanoseconds
        var train = MetricsAccumulator(classes: data.classes.count)
        let learn: LearnStep = { [trainer, ema] logits, targets in
            let loss = try trainer.learn(logits: logits, targets: targets)
            ema?.update(step: trainer.step)
            return loss
        }
        try trainOneEpoch(epoch, useCache: useCache, metrics: &train, learn: learn)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let validation = try ema.map { try $0.withAverages { try validate(useCache: useCache) } } ?? validate(useCache: useCache)
        lastValidation = validation
        if earlyStopping?.observe(epoch: epoch, validationLoss: validation.loss) == true {
            bestWeights = try evaluatedStateDict()
            bestValidation = validation
        }
        let t = train.result
        try requireReadableData(train: t, validation: validation)
        let report = EpochReport(
            epoch: epoch, trainLoss: t.loss, trainAccuracy: t.accuracy, valLoss: validation.loss,
            valAccuracy: validation.accuracy, valTop5: validation.top5,
            learningRate: Double(optimizer.groups.last?.learningRate ?? 0), seconds: seconds,
            imagesPerSecond: Double(t.count) / max(seconds, 1e-9), cachedFeatures: useCache,
            trainableParameters: model.parameters.filter { $0.isTrainable }.reduce(0) { $0 + $1.value.count })
        history.append(report)
        epochsDone = epoch
        onEpoch(report, validation)
    }

    /// Test-time augmentation in validation (`tta: .flip`): log of the mean of the probabilities of the
    /// batch and its mirror image — "logits" whose softmax is that mean, so loss and metrics apply as they are.
    func flipAveragedLogProbabilities(_ images: Tensor) throws -> Tensor {
        let shape = images.shape
        guard shape.count == 4 else { return try model.logits(images) }
        let w = shape[3], x = images.values
        var mirrored = x
        for row in stride(from: 0, to: x.count, by: w) { for j in 0..<w { mirrored[row + j] = x[row + w - 1 - j] } }
        let a = try softmax(model.logits(images)).values, b = try softmax(model.logits(Tensor(shape: shape, values: mirrored))).values
        return try Tensor(shape: [shape[0], a.count / max(shape[0], 1)], values: zip(a, b).map { Float(log(Double(($0 + $1) / 2))) })
    }

    /// Whether the head trains on cached body features: the body is fixed and nothing changes the
    /// images between epochs (no augmentation, no MixUp/CutMix), or the run asked for it.
    var usesFeatureCache: Bool {
        (settings.forceFeatureCache || (!settings.augment && !settings.mixup.isEnabled)) && Freezing.bodyIsFixed(model)
    }

    /// The batch mixed by MixUp/CutMix (with a stream seeded by the run's seed, the epoch and the
    /// batch, so a resumed run mixes identically), and its targets.
    func mixed(_ images: Tensor, _ labels: [Int], epoch: Int, batch: Int) throws -> (Tensor, BatchTargets) {
        guard settings.mixup.isEnabled, images.shape.count == 4 else { return (images, BatchTargets(labels: labels)) }
        var rng = SplitMix64(seed: (settings.seed &+ UInt64(epoch)) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(batch) ^ 0x3D1C_0000)
        let p = MixUp.sample(settings.mixup, height: images.shape[2], width: images.shape[3], using: &rng)
        let soft = try MixUp.targets(labels: labels, classes: data.classes.count, lam: p.lam, smoothing: settings.labelSmoothing)
        return (try MixUp.mix(images, p), BatchTargets(labels: labels, soft: soft))
    }

    /// The epoch's training images: all of them, or with `balance: .sampler` a class-balanced draw
    /// with replacement of as many (the loader then shuffles them with the epoch's seed).
    func trainingSamples(epoch: Int) -> [ImageFolder.Sample] {
        guard settings.balance == .sampler else { return data.train }
        let labels = data.train.map(\.label)
        return ClassBalance.weightedDraw(labels: labels, classes: data.classes.count, count: labels.count, seed: balanceSeed(epoch))
            .map { data.train[$0] }
    }

    func balanceSeed(_ epoch: Int) -> UInt64 { (settings.seed &+ UInt64(epoch)) ^ 0xB41A_4CE0_0000_0000 }

    /// The weights validation sees: the averages with EMA, else the live ones.
    func evaluatedStateDict() throws -> [(name: String, tensor: RawTensor)] {
        try ema.map { try $0.withAverages { model.stateDict() } } ?? model.stateDict()
    }

    /// What the run hands on: the best epoch's weights with early stopping, else the evaluated ones.
    public func finalStateDict() throws -> [(name: String, tensor: RawTensor)] {
        try bestWeights ?? evaluatedStateDict()
    }

    /// The validation of the weights `finalStateDict()` returns.
    public var finalValidation: EvaluationResult? { bestValidation ?? lastValidation }

    /// A run that trained a class on no image, or validated on none, measures nothing: it is refused
    /// (after the first epoch, when every image has been read once) instead of reporting accuracy 0.
    private func requireReadableData(train: EvaluationResult, validation: EvaluationResult) throws {
        if let empty = train.confusion.firstIndex(where: { $0.reduce(0, +) == 0 }) {
            throw FineTuneError.classWithoutReadableImages(data.classes[empty], folder: data.root)
        }
        if validation.count == 0 { throw FineTuneError.noReadableValidationImages(folder: data.root) }
    }

    /// One optimizer step from a batch's logits and labels; nil stops the epoch (the LR range test).
    typealias LearnStep = (_ logits: Tensor, _ targets: BatchTargets) throws -> Float?

    /// One pass over the training data: on cached features when `useCache`, else on (augmented) images.
    func trainOneEpoch(_ epoch: Int, useCache: Bool, metrics: inout MetricsAccumulator, learn: LearnStep) throws {
        if useCache {
            let cached = try features()
            try trainHead(on: cached.train, labels: cached.trainLabels, epoch: epoch, metrics: &metrics, learn: learn)
        } else {
            try trainImages(epoch: epoch, metrics: &metrics, learn: learn)
        }
    }

    private func trainImages(epoch: Int, metrics: inout MetricsAccumulator, learn: LearnStep) throws {
        model.prepareTraining()
        let batches = loader.batches(trainingSamples(epoch: epoch), augment: settings.augment, shuffleSeed: settings.seed &+ UInt64(epoch))
        defer { batches.cancel() }
        let start = DispatchTime.now().uptimeNanoseconds
        var seen = 0, index = 0
        while let batch = try batches.nextBatch() {
            let (images, targets) = try mixed(batch.images, batch.labels, epoch: epoch, batch: index)
            let logits = try model.forward(images)
            guard let loss = try learn(logits, targets) else { return }
            metrics.add(logits: logits, targets: batch.labels, meanLoss: loss)
            seen += batch.labels.count
            index += 1
            report(epoch: epoch, batch: index, of: batches.count, loss: metrics.meanLoss, seen: seen, since: start)
        }
    }

    private func trainHead(on features: Tensor, labels: [Int], epoch: Int, metrics: inout MetricsAccumulator, learn: LearnStep) throws {
        model.prepareTraining()
        let n = features.shape[0], f = features.shape[1]
        var order = Array(0..<n)
        var rng = SplitMix64(seed: settings.seed &+ UInt64(epoch))
        order.shuffle(using: &rng)
        if settings.balance == .sampler { order = ClassBalance.weightedDraw(labels: labels, classes: data.classes.count, count: n, seed: balanceSeed(epoch)) }
        let values = features.values
        let start = DispatchTime.now().uptimeNanoseconds
        var seen = 0
        let size = loader.batchSize
        let chunks = stride(from: 0, to: n, by: size).map { Array(order[$0..<min($0 + size, n)]) }
        for (i, chunk) in chunks.enumerated() {
            var rows: [Float] = []
            rows.reserveCapacity(chunk.count * f)
            for j in chunk { rows += values[(j * f)..<((j + 1) * f)] }
            let x = try Tensor(shape: [chunk.count, f], values: rows)
            let y = chunk.map { labels[$0] }
            let logits = try model.head(x)
            guard let loss = try learn(logits, BatchTargets(labels: y)) else { return }
            metrics.add(logits: logits, targets: y, meanLoss: loss)
            seen += y.count
            report(epoch: epoch, batch: i + 1, of: chunks.count, loss: metrics.meanLoss, seen: seen, since: start)
        }
    }

    /// Body features of every training and validation image (evaluation preset, evaluation mode),
    /// computed once while the body stays fixed, on `settings.featureEngine` (XNNPACK where it covers
    /// the network; `featureEngineUsed` says which ran).
    func features() throws -> (train: Tensor, trainLabels: [Int], val: Tensor, valLabels: [Int]) {
        if let cache { return cache }
        let runner = try InferenceRunner(model: model, engine: settings.featureEngine, output: .features, timed: false)
        func run(_ samples: [ImageFolder.Sample]) throws -> (Tensor, [Int]) {
            var values: [Float] = []
            var labels: [Int] = []
            let batches = loader.batches(samples, augment: false, shuffleSeed: nil)
            defer { batches.cancel() }
            while let b = try batches.nextBatch() {
                let f = try runner.features(b.images)
                values += f.values
                labels += b.labels
            }
            return (try Tensor(shape: [labels.count, model.featureCount], values: values), labels)
        }
        let (train, trainLabels) = try run(data.train)
        let (val, valLabels) = try run(data.validation)
        featureEngineUsed = runner.engineName
        let result = (train: train, trainLabels: trainLabels, val: val, valLabels: valLabels)
        cache = result
        return result
    }

    /// Evaluation-mode pass over the validation set.
    public func validate(useCache: Bool) throws -> EvaluationResult {
        var metrics = MetricsAccumulator(classes: data.classes.count)
        model.setTraining(false)
        if useCache, settings.tta == nil, let cached = cache {
            let labels = cached.valLabels
            if !labels.isEmpty {
                let logits = try model.head(cached.val)
                let (loss, _) = try crossEntropy(logits: logits, targets: labels, labelSmoothing: settings.labelSmoothing)
                metrics.add(logits: logits, targets: labels, meanLoss: loss)
            }
        } else {
            let batches = loader.batches(data.validation, augment: false, shuffleSeed: nil)
            defer { batches.cancel() }
            while let b = try batches.nextBatch() {
                let logits = try settings.tta == .flip ? flipAveragedLogProbabilities(b.images) : model.logits(b.images)
                let (loss, _) = try crossEntropy(logits: logits, targets: b.labels, labelSmoothing: settings.labelSmoothing)
                metrics.add(logits: logits, targets: b.labels, meanLoss: loss)
            }
        }
        return metrics.result
    }

    private func report(epoch: Int, batch: Int, of total: Int, loss: Double, seen: Int, since start: UInt64) {
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let rate = Double(seen) / max(elapsed, 1e-9)
        let eta = elapsed / Double(batch) * Double(total - batch)
        onBatch(BatchProgress(epoch: epoch, batch: batch, batches: total, loss: loss, imagesPerSecond: rate, etaSeconds: eta))
    }

    /// Progress read from a checkpoint (`resume(from:)`), with the unfreezing of the epochs done replayed.
    func restoreProgress(epochsDone done: Int, step: Int, history: [EpochReport], lastValidation: EvaluationResult?) throws {
        unfrozen = []
        for (e, target) in settings.unfreezeAt where e <= done { unfrozen += try parameters(for: target) }
        trainer.restore(step: step)
        self.history = history
        self.lastValidation = lastValidation
        epochsDone = done
    }

    /// `--unfreeze-at` targets: a layer-group index, or a module path.
    private func parameters(for target: String) throws -> [Parameter] {
        if let i = Int(target) {
            guard layerGroups.indices.contains(i) else { throw FineTuneError.unknownGroup(target, count: layerGroups.count) }
            return layerGroups[i].parameters
        }
        guard let module = model.network.module(at: target), !module.parameters.isEmpty else {
            throw FineTuneError.unknownGroup(target, count: layerGroups.count)
        }
        return module.parameters
    }
}

public enum FineTuneError: Error, CustomStringConvertible, Equatable {
    case unknownGroup(String, count: Int)
    case classWithoutReadableImages(String, folder: String)
    case noReadableValidationImages(folder: String)
    case noTrainingBatches(folder: String)
    case singleClass(String, folder: String)

    public var description: String {
        switch self {
        case .unknownGroup(let t, let n): return "'\(t)' is neither a layer group (0…\(n - 1)) nor a module path of the model"
        // The CLI puts the data folder in front of the message.
        case .classWithoutReadableImages(let c, _): return "class '\(c.prefix(200))' has no readable training image"
        case .noReadableValidationImages: return "no validation image could be read"
        case .noTrainingBatches: return "no training image could be read"
        case .singleClass(let c, _): return "only one class ('\(c.prefix(200))'): fine-tuning needs at least two class folders"
        }
    }
}
