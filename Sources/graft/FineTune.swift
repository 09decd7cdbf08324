import ArgumentParser
import Foundation
import Graft

extension BNPolicy: ExpressibleByArgument {}
extension FineTuneSettings.OptimizerKind: ExpressibleByArgument {}

struct FineTune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a pretrained model on an image folder: new head, frozen backbone, discriminative learning rates.",
        discussion: """
            DATA is DIR/train/<class>/* and DIR/val/<class>/*, or DIR/<class>/* with --val-split. \
            Writes the fine-tuned store (its metadata carries arch, classes and preprocessing, so \
            `graft predict --checkpoint OUT IMAGE` needs no other flag), training-curves.png and the confusion \
            matrix (PNG and text) next to it.
            """)

    @OptionGroup var model: ModelOptions
    @Option(help: "Weights whose preprocessing to use (default: the store's, else the arch's DEFAULT).") var weights: String?
    @Option(help: "The image folder.") var data: String
    @Option(help: "Hold out this fraction of each class for validation when DATA has no val/ folder.") var valSplit: Double?
    @Option var seed: UInt64 = 0
    @Option var epochs = 5
    @Option var batch = 16
    @Option(help: "sgd or adamw.") var optimizer: FineTuneSettings.OptimizerKind = .sgd
    @Option(help: "1e-3 (earlier groups 1e-4, head 1e-3, as fastai's slice(hi)) or 1e-5:1e-3 (geometric across groups).")
    var lr = "1e-3"
    @Option(help: "timm-style layer-wise decay (per block groups, lr × decay^(depth from the head)).") var layerDecay: Double?
    @Option(help: "Comma-separated module paths where layer groups start (overrides the architecture's split).")
    var groups: String?
    @Option(help: "SGD momentum or Adam β1.") var momentum = 0.9
    @Flag var nesterov = false
    @Option(help: ArgumentHelp("Weight decay (default: " + FineTuneSettings.OptimizerKind.allCases
                               .map { "\($0.defaultWeightDecay) with \($0.rawValue)" }.joined(separator: ", ") + ")."))
    var weightDecay: Double?
    @Flag(help: "Also decay BatchNorm parameters and biases.") var decayBNBias = false
    @Option(help: "one-cycle (fastai defaults), cosine[:WARMUP_STEPS], step:EPOCHS:GAMMA, constant.") var schedule = "one-cycle"
    @Option var labelSmoothing: Float = 0
    @Option(help: "none, backbone, or until:MODULE (freeze every module before it).") var freeze = "backbone"
    @Option(help: "EPOCH:GROUP,… — unfreeze a layer group (index) or a module path when that epoch starts.")
    var unfreezeAt: String?
    @Option(help: "BatchNorm inside frozen parts: frozen, train-affine (fastai train_bn) or train.") var bn: BNPolicy = .frozen
    @Option(help: ArgumentHelp(
        "Training augmentation: none, light (rrc,flip), trivial (rrc,flip,trivial), randaugment (rrc,flip,randaugment:2:9), or a list such as rrc,flip,rotate:15,jitter:0.2:0.2:0.2,erase:0.25.",
        valueName: "recipe"))
    var augment = "light"
    @Flag(help: "No augmentation (the same as --augment none).") var noAugment = false
    @Flag(help: "Train the head on cached backbone features (skips augmentation).") var cacheFeatures = false
    @Option(help: "Dropout before the new head.") var headDropout: Float?
    @Flag(help: "Start rows of classes whose names match the pretrained classes from the pretrained rows.")
    var keepMatchingClasses = false
    @Option(help: "The fine-tuned .safetensors store. After every epoch a checkpoint is written beside it (OUT.checkpoint.safetensors).")
    var output: String
    @Flag(help: "Continue from the checkpoint beside --output (same command otherwise): the result is bit-identical to an uninterrupted run.")
    var resume = false
    @Flag(help: "One JSON object per epoch on stdout.") var json = false

    func settings() throws -> FineTuneSettings {
        var s = FineTuneSettings()
        s.epochs = epochs
        s.batchSize = batch
        s.seed = seed
        s.optimizer = optimizer
        guard let spec = LearningRateSpec(parsing: lr) else { throw ValidationError("--lr: expected 1e-3 or 1e-5:1e-3") }
        s.learningRate = spec
        s.layerDecay = layerDecay
        s.groupBoundaries = groups.map { $0.split(separator: ",").map(String.init) }
        s.momentum = momentum
        s.nesterov = nesterov
        if let weightDecay { s.weightDecay = weightDecay }
        s.decayNormAndBias = decayBNBias
        guard let sched = Schedule(parsing: schedule) else { throw ValidationError("--schedule: unknown '\(schedule)'") }
        s.schedule = sched
        s.labelSmoothing = labelSmoothing
        guard let f = FreezeSpec(parsing: freeze) else { throw ValidationError("--freeze: none, backbone or until:MODULE") }
        s.freeze = f
        s.unfreezeAt = try (unfreezeAt ?? "").split(separator: ",").map { item in
            let parts = item.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let e = Int(parts[0]) else { throw ValidationError("--unfreeze-at: EPOCH:GROUP,…") }
            return (e, String(parts[1]))
        }
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
        return s
    }

    func run() throws {
        let parsed = try settings()
        let (store, loaded, arch) = try reportingErrors(file: model.checkpoint) { try model.load() }
        let s = try reportingErrors(file: model.checkpoint) { try parsed.resolvingModulePaths(loaded) }
        let choice = try reportingErrors(file: model.checkpoint) {
            try PreprocessingChoice.resolve(weights: weights, arch: arch, store: store)
        }
        let dataset = try reportingErrors(file: data) { try ImageFolder.load(data, valSplit: valSplit, seed: seed) }
        let net = loaded.model
        let notes = try HeadReplacement.replace(net, classes: dataset.classes, seed: seed,
                                                keepMatchingClasses: keepMatchingClasses, pretrainedClasses: choice.classes)
        let tuner = try FineTuner(model: net, data: dataset, pipeline: choice.pipeline, settings: s)
        tuner.loader.onBadImage = { _, error in printError("graft: warning: \(String(describing: error).escapedForTerminal) (skipped)") }
        let checkpoint = TrainingCheckpoint.path(for: output)
        tuner.checkpointPath = checkpoint
        // Test hook, EPOCH:SECONDS: hold that epoch's checkpoint before its rename (tests kill the run there).
        if let hook = ProcessInfo.processInfo.environment["GRAFT_TEST_CHECKPOINT_PAUSE"]?.split(separator: ":"),
           hook.count == 2, let e = Int(hook[0]), let seconds = Double(hook[1]) {
            tuner.checkpointPause = (e, seconds)
        }
        if resume { try resumeRun(tuner, from: checkpoint) }
        let progress = ProgressLine(enabled: !json && isatty(2) != 0)
        tuner.onBatch = { progress.update($0) }
        if !json {
            print("\(arch): \(dataset.classes.count) classes (\(dataset.train.count) train, \(dataset.validation.count) val), "
                  + "preprocessing \(choice.source)")
            for n in notes { print("  \(n)") }
            print("layer groups: " + tuner.layerGroups.map { "\($0.name) (\($0.parameters.count) tensors)" }.joined(separator: ", "))
            print("epoch  train loss  train acc  val loss  val acc  val top-5        lr    time  images/s")
        }
        func printRow(_ r: EpochReport) {
            progress.clear()
            if json {
                try? printJSONLine(["epoch": .int(r.epoch), "train_loss": .double(r.trainLoss), "train_accuracy": .double(r.trainAccuracy),
                                    "val_loss": .double(r.valLoss), "val_accuracy": .double(r.valAccuracy), "val_top5": .double(r.valTop5),
                                    "lr": .double(r.learningRate), "seconds": .double(r.seconds), "images_per_s": .double(r.imagesPerSecond),
                                    "cached_features": .bool(r.cachedFeatures)])
            } else {
                print(String(format: "%5d  %10.4f  %9.4f  %8.4f  %7.4f  %9.4f  %8.2e  %5.1fs  %8.1f%@", r.epoch, r.trainLoss, r.trainAccuracy,
                             r.valLoss, r.valAccuracy, r.valTop5, r.learningRate, r.seconds, r.imagesPerSecond,
                             r.cachedFeatures ? "  (cached features)" : ""))
            }
        }
        tuner.onEpoch = { r, _ in printRow(r) }
        for r in tuner.history { printRow(r) }  // the epochs a resumed run did before
        FatalSignals.deferInterrupts(message: "\ngraft: stopping after this epoch's checkpoint (Ctrl-C again stops now)\n")
        tuner.shouldStop = { FatalSignals.interruptRequested }
        try reportingErrors(file: data) { try tuner.run() }
        if tuner.stoppedEarly {
            printError("graft: stopped after epoch \(tuner.epochsDone) of \(s.epochs); its checkpoint is \(checkpoint) —"
                       + " run the same command with --resume to continue")
            throw ExitCode(130)
        }

        let result = try reportingErrors(file: output) {
            try FineTuneOutput(tuner: tuner, arch: arch, preprocessing: choice, source: store)
        }
        let files = try reportingErrors(file: output) { try result.save(to: output) }
        if !json {
            if let table = result.confusionText { print(table, terminator: "") }
            print("wrote " + files.all.joined(separator: ", "))
        }
    }
}

extension FineTune {
    /// Restores the checkpoint beside the output (refused with exit 2 when it belongs to another run),
    /// or says that there is none yet and starts at epoch 1.
    func resumeRun(_ tuner: FineTuner, from checkpoint: String) throws {
        // A run killed with SIGKILL in the middle of a write left its temporary file.
        for destination in [checkpoint, output] { AtomicFileWriter.removeStaleTemporaries(of: destination) }
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            if !json { print("no checkpoint at \(checkpoint) yet: starting at epoch 1") }
            return
        }
        let saved = try reportingErrors(file: checkpoint) { try TrainingCheckpoint.read(checkpoint) }
        try reportingErrors(file: checkpoint) { try tuner.resume(from: saved) }
        if !json { print("resuming after epoch \(tuner.epochsDone) from \(checkpoint)") }
    }
}

/// A one-line progress bar on stderr (only on a terminal).
final class ProgressLine {
    let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled }

    func update(_ p: BatchProgress) {
        guard enabled else { return }
        let width = 24, done = p.batches > 0 ? width * p.batch / p.batches : width
        let bar = String(repeating: "=", count: done) + String(repeating: " ", count: width - done)
        let line = String(format: "\repoch %d [%@] %d/%d  %.1f img/s  loss %.4f  ETA %.0fs ", p.epoch, bar, p.batch, p.batches,
                          p.imagesPerSecond, p.loss, p.etaSeconds)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data(("\r" + String(repeating: " ", count: 90) + "\r").utf8))
    }
}

enum JSONScalar: Encodable {
    case int(Int), double(Double), bool(Bool)
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        }
    }
}

/// One compact JSON object per line (for machine-read progress).
func printJSONLine(_ object: [String: JSONScalar]) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    print(String(decoding: try encoder.encode(object), as: UTF8.self))
    fflush(stdout)
}
