import Foundation
import GraftCore
import GraftNN
import GraftTensor

/// Checkpoints of a fine-tuning run and resuming from one: a run stopped after epoch k and resumed
/// takes exactly the steps an uninterrupted run takes from there, so it ends with bit-identical weights.
extension FineTuner {
    /// What identifies a run: every setting and the data set's files and labels. (Timing fields of the
    /// history are not compared; everything that changes a weight is.)
    public var fingerprint: String {
        var hash = FNV1a64()
        for sample in data.train + data.validation { hash.add("\(sample.path)\t\(sample.label)\n") }
        return "\(model.arch); \(data.classes.count) classes, \(data.train.count) train + \(data.validation.count) val images"
            + " (files \(String(hash.value, radix: 16))); \(String(describing: settings))"
    }

    /// The run's state after its last completed epoch.
    public func checkpoint() -> TrainingCheckpoint {
        let state = TrainingCheckpoint.State(
            epochsDone: epochsDone, step: trainer.step,
            randomState: model.random.generator.state.map { String($0, radix: 16) },
            history: history, lastValidation: lastValidation,
            optimizerSteps: [:], fingerprint: fingerprint, earlyStopping: earlyStopping, bestValidation: bestValidation)
        var c = TrainingCheckpoint(state: state, model: model.stateDict(), optimizer: optimizer.state(names: parameterNames))
        c.state.optimizerSteps = c.optimizer.steps
        if let ema { c.ema = Dictionary(uniqueKeysWithValues: zip(ema.entries.map(\.name), ema.averages)) }
        c.best = bestWeights ?? []
        return c
    }

    /// Continues from `checkpoint`: refuses one made by another run (other settings or data), then
    /// restores weights, optimizer state, schedule step, random stream, history and the parameters
    /// `--unfreeze-at` had released by then.
    public func resume(from checkpoint: TrainingCheckpoint) throws {
        let s = checkpoint.state
        guard s.fingerprint == fingerprint else {
            throw TrainingCheckpointError.otherRun(checkpoint: s.fingerprint, thisRun: fingerprint)
        }
        guard s.epochsDone <= max(settings.epochs, 1), s.history.count == s.epochsDone,
              s.step <= trainer.totalSteps,
              let random = SeededGenerator(state: s.randomState.compactMap { UInt64($0, radix: 16) }) else {
            throw TrainingCheckpointError.notACheckpoint("its epoch count, step or random state does not fit this run")
        }
        // All or nothing: a checkpoint that does not fit leaves the run as it was.
        let before = model.stateDict()
        do {
            try model.network.load(stateDict: checkpoint.model, strict: true)
            try optimizer.restore(checkpoint.optimizer, names: parameterNames)
            if let ema { try ema.restore(checkpoint.ema) }
            guard (ema == nil) == checkpoint.ema.isEmpty, (s.earlyStopping == nil) == (earlyStopping == nil),
                  checkpoint.best.isEmpty == (s.earlyStopping?.bestEpoch == nil) else {
                throw TrainingCheckpointError.notACheckpoint("its EMA or early-stopping state does not fit this run")
            }
        } catch {
            _ = try? model.network.load(stateDict: before, strict: true)
            throw error
        }
        try restoreProgress(epochsDone: s.epochsDone, step: s.step, history: s.history, lastValidation: s.lastValidation)
        model.random.generator = random
        earlyStopping = s.earlyStopping
        bestWeights = checkpoint.best.isEmpty ? nil : try inStateDictOrder(checkpoint.best)
        bestValidation = s.bestValidation
    }

    /// Writes the checkpoint (creating the output's folder); a failure names the checkpoint's path.
    func writeCheckpoint(to path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: AtomicFileWriter.directory(of: path), withIntermediateDirectories: true)
            let pause = checkpointPause.flatMap { $0.epoch == epochsDone ? $0.seconds : nil } ?? 0
            try checkpoint().write(to: path, pauseBeforeCommit: pause)
        } catch {
            throw CheckpointWriteError(path: path, reason: String(describing: error))
        }
    }

    /// A saved state dict (file order puts wide dtypes first) back in the model's order, checked
    /// against the model's keys and shapes.
    func inStateDictOrder(_ saved: [(name: String, tensor: RawTensor)]) throws -> [(name: String, tensor: RawTensor)] {
        let byName = Dictionary(saved.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        // The model's keys, shapes and dtypes, without copying its weights as stateDict() would.
        let own = model.network.namedStateEntries().map { name, entry -> (String, [Int], DType) in
            if case .parameter(let p) = entry { return (name, p.value.shape, .float32) }
            return (name, [], .int64)
        }
        guard byName.count == own.count else {
            throw TrainingCheckpointError.notACheckpoint("its best weights have \(byName.count) tensors, the model \(own.count)")
        }
        return try own.map { name, shape, dtype in
            guard let t = byName[name], t.shape == shape, t.dtype == dtype else {
                throw TrainingCheckpointError.notACheckpoint("its best weights do not fit '\(name.prefix(200))'")
            }
            return (name, t)
        }
    }

    var parameterNames: [ObjectIdentifier: String] {
        Dictionary(model.network.namedParameters().map { (ObjectIdentifier($0.parameter), $0.name) }, uniquingKeysWith: { a, _ in a })
    }
}

/// FNV-1a, 64 bits: a stable fingerprint of a file list (not a defence against anyone; a guard
/// against resuming with another data set by mistake).
struct FNV1a64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        for byte in text.utf8 { value = (value ^ UInt64(byte)) &* 0x100_0000_01b3 }
    }
}

/// A checkpoint that could not be written (disk full, no permission): the run stops, as losing
/// checkpoints silently would defeat them.
public struct CheckpointWriteError: Error, CustomStringConvertible, NamesItsFile {
    public let path: String
    public let reason: String

    public var description: String { "\(path): could not write the training checkpoint: \(reason.prefix(300))" }
}
