import Foundation
import GraftCore
import GraftSafetensors

/// Everything a fine-tuning run needs to continue after its last completed epoch exactly as if it had
/// not stopped: the weights and buffers, the optimizer's per-parameter state, the schedule's step, the
/// dropout stream, the history so far, and a fingerprint of the settings and data it belongs to.
/// (Shuffling and augmentation are seeded per epoch, so they need no saved state.)
///
/// It is one safetensors file (tensors `model/<key>` and `optimizer/<key>.<buffer>`, the rest as JSON
/// in `graft.training_state`) written beside the run's output through a temporary file and a rename, so
/// a kill at any moment leaves the previous checkpoint or the new one, never a partial one.
public struct TrainingCheckpoint {
    /// The JSON part.
    public struct State: Codable, Equatable, Sendable {
        public var formatVersion = TrainingCheckpoint.formatVersion
        public var epochsDone: Int
        /// Optimizer steps taken (the schedule's position).
        public var step: Int
        /// The dropout / stochastic-depth stream's four words, in hex (JSON numbers lose 64-bit values).
        public var randomState: [String]
        public var history: [EpochReport]
        public var lastValidation: EvaluationResult?
        /// Adam's per-parameter step counts.
        public var optimizerSteps: [String: Int]
        /// The settings and data set the run was started with; a resume with others is refused.
        public var fingerprint: String
        public var earlyStopping: EarlyStopping?
        public var bestValidation: EvaluationResult?
    }

    public static let formatVersion = 1
    static let stateKey = "graft.training_state"
    static let modelPrefix = "model/", optimizerPrefix = "optimizer/", emaPrefix = "ema/", bestPrefix = "best/"

    public var state: State
    public var model: [(name: String, tensor: RawTensor)]
    public var optimizer: OptimizerState
    /// The EMA's averages by parameter name (empty without EMA).
    public var ema: [String: [Float]] = [:]
    /// The best epoch's weights under early stopping (empty before one, or without it).
    public var best: [(name: String, tensor: RawTensor)] = []

    public init(state: State, model: [(name: String, tensor: RawTensor)], optimizer: OptimizerState) {
        self.state = state
        self.model = model
        self.optimizer = optimizer
    }

    /// Where the checkpoint of a run writing `output` lives: `tuned.safetensors` → `tuned.checkpoint.safetensors`.
    public static func path(for output: String) -> String { besideOutput(output, suffix: ".checkpoint.safetensors") }

    /// A file beside `output` named after it: its path without the extension, then `suffix`.
    public static func besideOutput(_ output: String, suffix: String) -> String {
        let ns = output as NSString
        return (ns.pathExtension.isEmpty ? output : ns.deletingPathExtension) + suffix
    }

    /// Writes atomically. `pauseBeforeCommit` (seconds) holds the finished temporary file unrenamed —
    /// a test hook, so a test can kill the process in the middle of a checkpoint write.
    public func write(to path: String, pauseBeforeCommit: Double = 0) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // A diverged run has NaN losses; JSON has no NaN, so they are written as strings.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let json = String(decoding: try encoder.encode(state), as: UTF8.self)
        var tensors = model.map { (name: Self.modelPrefix + $0.name, tensor: $0.tensor) }
        tensors += best.map { (name: Self.bestPrefix + $0.name, tensor: $0.tensor) }
        for (prefix, vectors) in [(Self.optimizerPrefix, optimizer.buffers), (Self.emaPrefix, ema)] {
            for (key, values) in vectors.sorted(by: { $0.key < $1.key }) {
                let data = values.withUnsafeBytes { ByteBuffer(copying: $0) }
                tensors.append((prefix + key, try RawTensor(dtype: .float32, shape: [values.count], data: data)))
            }
        }
        let order = Safetensors.layoutOrder(of: tensors.map(\.tensor.dtype)).map { tensors[$0] }
        let (header, _) = try Safetensors.encodeHeader(
            entries: order.map { ($0.name, $0.tensor.dtype, $0.tensor.shape) },
            metadata: [("format", "pt"), (Self.stateKey, json)])
        let writer = try AtomicFileWriter(destination: path)
        try header.withUnsafeBytes { try writer.write($0) }
        for t in order { try t.tensor.data.withUnsafeBytes { try writer.write($0) } }
        if pauseBeforeCommit > 0 { Thread.sleep(forTimeInterval: pauseBeforeCommit) }
        try writer.commit()
    }

    /// Reads a checkpoint (an untrusted file like any other: parsed by the safetensors reader, its JSON
    /// decoded with the reader's limits, every field checked before use).
    public static func read(_ path: String) throws -> TrainingCheckpoint {
        let file = try SafetensorsFile(path: path)
        guard let json = file.metadata[stateKey] else {
            throw TrainingCheckpointError.notACheckpoint("it has no '\(stateKey)' entry")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let state: State
        do {
            state = try decoder.decode(State.self, from: Data(json.utf8))
        } catch {
            throw TrainingCheckpointError.notACheckpoint("its training state is not readable JSON of this format")
        }
        guard state.formatVersion == formatVersion else {
            throw TrainingCheckpointError.notACheckpoint("format version \(state.formatVersion), this Graft reads \(formatVersion)")
        }
        guard state.epochsDone >= 0, state.step >= 0, state.randomState.count == 4,
              state.randomState.allSatisfy({ UInt64($0, radix: 16) != nil }) else {
            throw TrainingCheckpointError.notACheckpoint("its epoch, step or random state is out of range")
        }
        var model: [(name: String, tensor: RawTensor)] = []
        var optimizer = OptimizerState()
        optimizer.steps = state.optimizerSteps
        var ema: [String: [Float]] = [:], best: [(name: String, tensor: RawTensor)] = []
        for name in file.names {
            let tensor = try file.tensor(named: name)
            let vector = tensor.dtype == .float32 && tensor.shape.count == 1
            if name.hasPrefix(modelPrefix) {
                model.append((String(name.dropFirst(modelPrefix.count)), tensor))
            } else if name.hasPrefix(bestPrefix) {
                best.append((String(name.dropFirst(bestPrefix.count)), tensor))
            } else if name.hasPrefix(optimizerPrefix), vector {
                optimizer.buffers[String(name.dropFirst(optimizerPrefix.count))] = tensor.floatValues()
            } else if name.hasPrefix(emaPrefix), vector {
                ema[String(name.dropFirst(emaPrefix.count))] = tensor.floatValues()
            } else {
                throw TrainingCheckpointError.notACheckpoint("unexpected tensor '\(name.prefix(200))'")
            }
        }
        var checkpoint = TrainingCheckpoint(state: state, model: model, optimizer: optimizer)
        checkpoint.ema = ema
        checkpoint.best = best
        return checkpoint
    }
}

public enum TrainingCheckpointError: Error, CustomStringConvertible, Equatable {
    case notACheckpoint(String)
    case otherRun(checkpoint: String, thisRun: String)

    public var description: String {
        switch self {
        case .notACheckpoint(let why): return "not a Graft training checkpoint: \(why)"
        case .otherRun(let theirs, let ours):
            // The first place the two descriptions part, with a little context on each side.
            let same = zip(theirs, ours).prefix { $0 == $1 }.count
            func around(_ s: String) -> String {
                let from = s.index(s.startIndex, offsetBy: max(0, same - 30)), to = s.index(from, offsetBy: min(80, s.distance(from: from, to: s.endIndex)))
                return "…" + s[from..<to] + "…"
            }
            return "the checkpoint belongs to another run (settings or data differ: the checkpoint has \(around(theirs)), this run \(around(ours)));"
                + " start without --resume, or delete it"
        }
    }
}
