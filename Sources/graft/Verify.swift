import ArgumentParser
import Foundation
import Graft

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a checkpoint on a reference input and compare with the reference framework's outputs.",
        discussion: """
            Compares like with like: the outputs the source model gives — logits for PyTorch, the classifier \
            activation's outputs for Keras (softmax unless the file's model config says otherwise), as \
            model.predict returns them. --logits compares the pre-activation logits instead. \
            Exit 0 when every value is within atol + rtol·|reference| (numpy.allclose), 1 otherwise.
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "NCHW float32 input (.npy), preprocessed as the reference model received it.")
    var input: String

    @Option(help: "The reference outputs (.npy): PyTorch's logits, or what a Keras model's predict returned.")
    var reference: String

    @Option var atol: Float = Verification.defaultATol
    @Option var rtol: Float = Verification.defaultRTol

    @Flag(help: "Compare pre-activation logits, also for a Keras model whose outputs are its classifier activation's.")
    var logits = false

    @Flag(help: "Compare softmax probabilities (a reference saved after a softmax the model itself does not have).")
    var softmax = false

    @Option(help: "Also write Graft's outputs (.npy, float32), to compare them elsewhere.")
    var output: String?

    @Option(help: InferenceEngineChoice.help) var engine: InferenceEngineChoice = .auto
    @Flag(help: "Print JSON.") var json = false

    /// The verification's figures with what was compared.
    struct Report: Encodable {
        let arch: String
        let checkpoint: String
        let naming: String
        let compared: String
        let engine: String
        let inputNonFinite: Verification.NonFinite
        let verification: Verification

        private enum CodingKeys: String, CodingKey { case arch, checkpoint, naming, compared, engine, inputNonFinite }

        func encode(to encoder: Encoder) throws {
            try verification.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(arch, forKey: .arch)
            try c.encode(checkpoint, forKey: .checkpoint)
            try c.encode(naming, forKey: .naming)
            try c.encode(compared, forKey: .compared)
            try c.encode(engine, forKey: .engine)
            try c.encode(inputNonFinite, forKey: .inputNonFinite)
        }
    }

    func validate() throws {
        if logits && softmax { throw ValidationError("--logits and --softmax ask for different outputs; pass one") }
    }

    func run() throws {
        let (_, loaded, arch) = try reportingErrors(file: model.checkpoint) { try model.load() }
        let x = try reportingErrors(file: input) { try NpyArray(contentsOfFile: input) }
        let want = try reportingErrors(file: reference) { try NpyArray(contentsOfFile: reference) }
        // A single CHW image (as `graft preprocess` writes it) is a batch of one.
        let shape = x.shape.count == 3 ? [1] + x.shape : x.shape
        let activation: OutputActivation = softmax ? .softmax : logits ? .linear : loaded.model.outputActivation
        // The checkpoint was accepted when it loaded: what the forward pass refuses is the input's shape.
        let runner = try reportingErrors(file: model.checkpoint) { try InferenceRunner(model: loaded.model, engine: engine, timed: false) }
        let got = try reportingErrors(file: input) {
            try activation.apply(try runner.logits(try Tensor(shape: shape, values: x.values)))
        }
        let compared = activation == .linear ? "logits" : "\(activation.name) outputs"
        let v = try reportingErrors(file: reference) {
            try Verification(output: got.values, shape: got.shape, reference: want.values, referenceShape: want.shape,
                             atol: atol, rtol: rtol)
        }
        // Written only once the comparison stands, so a refused reference leaves no output behind.
        if let output {
            try reportingErrors(file: output) { try NpyArray(shape: got.shape, values: got.values).write(toFile: output) }
        }
        let inputNonFinite = Verification.NonFinite(counting: x.values)
        if json {
            try printJSON(Report(arch: arch, checkpoint: model.checkpoint, naming: loaded.scheme.rawValue, compared: compared,
                                 engine: runner.engineName, inputNonFinite: inputNonFinite, verification: v))
        } else {
            print("arch \(arch), naming \(loaded.scheme.rawValue), \(v.samples) samples × \(v.classes) \(compared), engine \(runner.engineName) (\(runner.choiceReason))")
            for note in loaded.notes { print("  \(note)") }
            if !inputNonFinite.isEmpty {
                print("the input has \(inputNonFinite.nan) NaN and \(inputNonFinite.infinity) infinite values")
            }
            let finitePairs = v.outputNonFinite.isEmpty && v.referenceNonFinite.isEmpty ? "" : " over finite pairs"
            print("max |Δ|\(finitePairs) \(v.maxAbsDiff), max relative \(v.maxRelDiff), worst |Δ| / (atol + rtol·|reference|) \(v.worstToleranceShare)")
            print("top-1 agreement \(v.top1Matches)/\(v.samples), top-5 agreement \(v.top5Matches)/\(v.samples)")
            for (side, counts) in [("Graft's output", v.outputNonFinite), ("the reference", v.referenceNonFinite)] where !counts.isEmpty {
                print("\(side) has \(counts.nan) NaN and \(counts.infinity) infinite values")
            }
            print(v.withinTolerance ? "OK: within atol \(atol) + rtol \(rtol)·|reference|"
                  : "FAILED: \(v.outsideTolerance) values outside atol \(atol) + rtol \(rtol)·|reference|")
        }
        if !v.withinTolerance { throw Exit.checkFailed }
    }
}
