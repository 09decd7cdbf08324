import Dispatch
import GraftModels
import GraftNN
import GraftTensor

/// What an inference plan ends in.
public enum InferenceOutput: String, Sendable {
    /// `[N, classes]`, as `Model.logits`.
    case logits
    /// The pooled `[N, F]` rows the classifier reads, as `Model.features` (feature caching, embeddings).
    case features

    /// Throws unless something computing `self` was asked for `asked` (a plan or runner made for the
    /// features cannot give the logits, and the other way round).
    func require(_ asked: InferenceOutput) throws {
        guard self == asked else { throw NNError.badArgument("this computes the \(rawValue), not the \(asked.rawValue)") }
    }
}

/// Which kernels run a model's evaluation forward.
public enum InferenceEngineChoice: String, CaseIterable, Sendable {
    /// Graft's own kernels (NCHW; Winograd, packed GEMM), the engine training uses.
    case graft
    /// The network lowered to XNNPACK (NHWC, BatchNorm folded, activations fused).
    case xnnpack
    /// XNNPACK where it has nodes for every module and is faster on this machine for this input
    /// shape (timed on the first finite batch), else Graft's own. Fine-tuning's feature cache takes XNNPACK
    /// wherever it covers the network instead (`InferenceRunner(timed: false)`), so that two runs with
    /// the same seed compute the same features.
    case auto
}

/// A model's evaluation-mode forward — its logits, or the pooled features its classifier reads — on
/// the chosen engine. With `.auto` the choice is made once, on the first finite batch: by timing both engines
/// (`timed`), or by whether XNNPACK covers the network; `engineName` and `choiceReason` say what was
/// chosen and why. Like `XNNInference`, the XNNPACK engine is a snapshot of the weights.
public final class InferenceRunner {
    public let model: Model
    public let output: InferenceOutput
    /// "xnnpack" once XNNPACK is chosen, else "graft" (also before `.auto` has chosen).
    public var engineName: String { decided && xnn != nil ? "xnnpack" : "graft" }
    public private(set) var choiceReason: String
    /// The XNNPACK engine while it is a candidate or the choice; nil once Graft's kernels are.
    private var xnn: XNNInference?
    private var decided: Bool
    private let timed: Bool

    /// `timed: false` makes `.auto` deterministic: XNNPACK whenever it can run the network, except for the
    /// families measured faster on Graft's kernels (`graftMeasuredFaster`).
    public init(model: Model, engine: InferenceEngineChoice, output: InferenceOutput = .logits,
                threads: Int = Parallel.threads, timed: Bool = true) throws {
        self.model = model
        self.output = output
        self.timed = timed
        switch engine {
        case .graft:
            (choiceReason, decided) = ("asked for", true)
        case .xnnpack:
            xnn = try XNNInference(model: model, threads: threads, output: output)
            (choiceReason, decided) = ("asked for", true)
        case .auto:
            xnn = try? XNNInference(model: model, threads: threads, output: output)
            (choiceReason, decided) = ("not yet chosen", xnn == nil)
        }
    }

    /// Evaluation-mode logits `[N, classes]`. A batch holding NaN or infinities runs on Graft's kernels,
    /// which propagate them as torch does (XNNPACK's clamps and max pools do not).
    public func logits(_ x: Tensor) throws -> Tensor {
        try output.require(.logits)
        return try run(x)
    }

    /// Evaluation-mode pooled features `[N, F]`, as `Model.features` (NaN and infinities as in `logits`).
    public func features(_ x: Tensor) throws -> Tensor {
        try output.require(.features)
        return try run(x)
    }

    /// The logits through the model's output activation, as `Model.outputs`.
    public func outputs(_ x: Tensor) throws -> Tensor { try model.outputActivation.apply(try logits(x)) }

    /// A batch holding NaN or infinities runs on Graft's kernels and leaves `.auto` undecided: its answer
    /// could not come from XNNPACK, so timing XNNPACK on it would be wasted.
    private func run(_ x: Tensor) throws -> Tensor {
        guard x.isAllFinite else { return try onGraft(x) }
        if !decided, let first = try decide(on: x) { return first }
        if let xnn { return try xnn.forward(x) }
        return try onGraft(x)
    }

    private func onGraft(_ x: Tensor) throws -> Tensor { output == .logits ? try model.logits(x) : try model.features(x) }

    /// Chooses on the first finite batch, and returns that batch's output when XNNPACK is chosen and computed
    /// it on the way (so it is not computed twice). A network XNNPACK has no nodes for, or one of
    /// `graftMeasuredFaster` when untimed, stays on Graft's kernels without a trial. Timed, each engine
    /// runs in a block of its own (a warm-up, then the median of three): alternating run by run would
    /// time each engine against the other's thread pool still spinning.
    private func decide(on x: Tensor) throws -> Tensor? {
        decided = true
        guard let xnn else { return nil }
        if !timed && Self.graftMeasuredFaster.contains(model.family) {
            self.xnn = nil
            choiceReason = "Graft's kernels measured faster for \(model.family.rawValue)"
            return nil
        }
        let first: Tensor
        do { first = try xnn.forward(x) } catch let error as XNNLoweringError {
            self.xnn = nil
            choiceReason = "XNNPACK cannot run it (\(error))"
            return nil
        }
        if timed {
            let g = try Self.medianTime { _ = try onGraft(x) }
            let n = try Self.medianTime { _ = try xnn.forward(x) }
            if n >= g { self.xnn = nil }
            choiceReason = String(format: "timed on %@: graft %.2f ms, xnnpack %.2f ms", x.shape.map(String.init).joined(separator: "×"), g, n)
        } else {
            choiceReason = "it covers the network"
        }
        return self.xnn != nil ? first : nil
    }

    /// Families whose forward is faster on Graft's kernels although XNNPACK covers them, for the untimed
    /// choice (`graft bench --arch A --engine graft|xnnpack`, 2-vCPU Zen 4, December 2026): VGG-16 110 vs
    /// 150 ms (Graft's Winograd), ConvNeXt-Tiny 73 vs 88 ms (XNNPACK's GEMM on its wide pointwise layers).
    static let graftMeasuredFaster: Set<Model.Family> = [.vgg, .kerasVGG, .convnext]

    /// One untimed run, then the median of three, in ms.
    private static func medianTime(_ body: () throws -> Void) rethrows -> Double {
        try body()
        var times: [Double] = []
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return times.sorted()[1]
    }
}
