import ArgumentParser
import Foundation
import Graft

struct FineTune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a pretrained model on an image folder: new head, frozen backbone, discriminative learning rates.",
        discussion: """
            DATA is DIR/train/<class>/* and DIR/val/<class>/*, or DIR/<class>/* with --val-split. \
            Writes the fine-tuned store (its metadata carries arch, classes and preprocessing, so \
            `graft predict --checkpoint OUT IMAGE` needs no other flag) and next to it report.html (curves, \
            learning rate, confusion matrix, per-class precision/recall/F1, the highest-loss validation images \
            with Grad-CAM; one self-contained page), training-curves.svg and the confusion matrix (SVG and text).
            """)

    @OptionGroup var recipe: RecipeOptions
    @Option var epochs = 5
    @Option(help: ArgumentHelp("1e-3 (earlier groups 1e-4, head 1e-3, as fastai's slice(hi)) or 1e-5:1e-3 (geometric across groups). "
                               + "Without it, lr-find's valley suggestion is used (a 100-batch range test first; its chart lands beside OUT)."))
    var lr: String?
    @Option(help: "one-cycle (fastai defaults), cosine[:WARMUP_STEPS], step:EPOCHS:GAMMA, constant.") var schedule = "one-cycle"
    @Option(help: "EPOCH:GROUP,… — unfreeze a layer group (index) or a module path when that epoch starts.")
    var unfreezeAt: String?
    // Not `--ema`: that flag (shared by every command that opens a checkpoint) picks a checkpoint's stored EMA weights.
    @Option(name: .customLong("model-ema"),
            help: "Keep an exponential moving average of the weights with this decay (timm's --model-ema, ModelEmaV3 with warm-up; e.g. 0.999): validation and the saved store use it.")
    var modelEMA: Double?
    @Option(help: "Class imbalance: sampler (draw images with probability 1/count of their class, with replacement) or loss (weights n/(K·count)).")
    var balance: FineTuneSettings.Balance?
    @Option(help: "Validate with test-time augmentation: flip (each image and its mirror, probabilities averaged).")
    var tta: TTAMode?
    @Option(help: "Stop after this many epochs without a lower validation loss, and save the best epoch's weights (fastai EarlyStopping + SaveModel).")
    var earlyStop: Int?
    @Option(help: "The fine-tuned .safetensors store. After every epoch a checkpoint is written beside it (OUT.checkpoint.safetensors).")
    var output: String
    @Flag(help: "Continue from the checkpoint beside --output (same command otherwise): the result is bit-identical to an uninterrupted run.")
    var resume = false
    @Flag(help: "One JSON object per epoch on stdout.") var json = false

    func settings() throws -> FineTuneSettings {
        var s = try recipe.settings()
        s.epochs = epochs
        if let lr {
            guard let spec = LearningRateSpec(parsing: lr) else { throw ValidationError("--lr: expected 1e-3 or 1e-5:1e-3") }
            s.learningRate = spec
        }
        guard let sched = Schedule(parsing: schedule) else { throw ValidationError("--schedule: unknown '\(schedule)'") }
        s.schedule = sched
        s.unfreezeAt = try (unfreezeAt ?? "").split(separator: ",").map { item in
            let parts = item.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let e = Int(parts[0]) else { throw ValidationError("--unfreeze-at: EPOCH:GROUP,…") }
            return (e, String(parts[1]))
        }
        if let modelEMA {
            guard modelEMA > 0, modelEMA < 1 else { throw ValidationError("--model-ema: a decay between 0 and 1, such as 0.999") }
            s.ema = modelEMA
        }
        s.balance = balance
        if let tta {
            guard tta == .flip else { throw ValidationError("--tta: validation takes flip (ten-crop is for predict)") }
            s.tta = tta
        }
        if let earlyStop {
            guard earlyStop >= 1 else { throw ValidationError("--early-stop: a patience of at least 1 epoch") }
            s.earlyStopPatience = earlyStop
        }
        return s
    }

    func run() throws {
        let prepared = try recipe.prepare(try settings())
        let (arch, dataset, choice, notes) = (prepared.arch, prepared.dataset, prepared.choice, prepared.notes)
        var s = prepared.settings
        // Without --lr: the range test's valley (its chart is written with the other outputs, at the end).
        var sweep: LRRangeRecorder?
        if lr == nil {
            let (rate, recorder) = try suggestLearningRate(prepared)
            s.learningRate = .single(rate)
            sweep = recorder
        }
        let tuner = try prepared.tuner(s)
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
                                    "cached_features": .bool(r.cachedFeatures),
                                    "feature_engine": r.cachedFeatures ? .string(tuner.featureEngineUsed ?? "graft") : .null])
            } else {
                print(String(format: "%5d  %10.4f  %9.4f  %8.4f  %7.4f  %9.4f  %8.2e  %5.1fs  %8.1f%@", r.epoch, r.trainLoss, r.trainAccuracy,
                             r.valLoss, r.valAccuracy, r.valTop5, r.learningRate, r.seconds, r.imagesPerSecond,
                             r.cachedFeatures ? "  (cached features" + (tuner.featureEngineUsed.map { ", \($0)" } ?? "") + ")" : ""))
            }
        }
        tuner.onEpoch = { r, _ in printRow(r) }
        for r in tuner.history { printRow(r) }  // the epochs a resumed run did before
        FatalSignals.deferInterrupts(message: "\ngraft: stopping after this epoch's checkpoint (Ctrl-C again stops now)\n")
        tuner.shouldStop = { FatalSignals.interruptRequested }
        try reportingErrors(file: recipe.data) { try tuner.run() }
        if tuner.stoppedEarly {
            printError("graft: stopped after epoch \(tuner.epochsDone) of \(s.epochs); its checkpoint is \(checkpoint) —"
                       + " run the same command with --resume to continue")
            throw ExitCode(130)
        }

        if !json {
            if let es = tuner.earlyStopping, let best = es.bestEpoch {
                print((es.shouldStop ? "early stop: no lower validation loss in \(es.patience) epoch(s); " : "")
                      + "keeping epoch \(best) (val loss " + String(format: "%.4f", es.bestLoss ?? .nan) + ")")
            }
            if let ema = tuner.ema { print("validated and saved with the EMA weights (decay up to \(ema.maximumDecay))") }
        }
        let result = try reportingErrors(file: output) {
            try FineTuneOutput(tuner: tuner, arch: arch, preprocessing: choice, source: prepared.store)
        }
        let files = try reportingErrors(file: output) { try result.save(to: output) }
        let chart = try sweep.map { recorder in
            let path = TrainingCheckpoint.besideOutput(output, suffix: ".lr-find.svg")
            try reportingErrors(file: path) { try writeChart(recorder, chosen: .valley, to: path) }
            return path
        }
        if !json {
            if let table = result.confusionText { print(table, terminator: "") }
            print("wrote " + (files.all + [chart].compactMap { $0 }).joined(separator: ", "))
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
    case int(Int), double(Double), bool(Bool), string(String), null
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        case .null: try c.encodeNil()
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
