import CXNNPACK
import Foundation
import GraftModels
import GraftNN
import GraftTensor

public enum XNNLoweringError: Error, CustomStringConvertible, Equatable {
    case unsupportedModule(String)
    case shapeMismatch(String)
    case xnnpack(String)
    /// NaN or infinite weights: XNNPACK's clamps and max pools drop NaN where torch propagates it.
    case nonFiniteWeights

    public var description: String {
        switch self {
        case .nonFiniteWeights: return "XNNPACK inference: the weights hold NaN or infinite values, which XNNPACK's clamps and max pools would not propagate as torch does"
        case .unsupportedModule(let type): return "XNNPACK inference has no nodes for \(type)"
        case .shapeMismatch(let what): return "XNNPACK inference: \(what)"
        case .xnnpack(let what): return "XNNPACK: \(what)"
        }
    }
}

/// A zoo model's evaluation-mode forward pass run by XNNPACK: the network lowered once per input
/// shape to a subgraph (NHWC, BatchNorm folded into the convolutions, ReLU/ReLU6 clamped in their
/// outputs) that XNNPACK plans, packs and runs on its own thread pool.
///
/// The plan copies the weights when it is built: after changing the model's parameters (training,
/// loading), make a new `XNNInference`. One call runs at a time (calls from several threads wait).
/// XNNPACK's clamps (ReLU) and max pools turn NaN into numbers where torch propagates it: weights with
/// NaN or infinities are refused here, and `InferenceRunner` runs a batch holding any on Graft's kernels.
public final class XNNInference {
    public let model: Model
    public let threads: Int
    /// What the plan ends in: the logits, or the pooled features the classifier reads.
    public let output: InferenceOutput
    private let pool: XNNThreadPool
    private var plan: XNNPlan?
    private let lock = NSLock()

    public init(model: Model, threads: Int = Parallel.threads, output: InferenceOutput = .logits) throws {
        let status = XNNLibrary.initialization
        guard status == xnn_status_success else { throw XNNLoweringError.xnnpack("xnn_initialize failed (status \(status.rawValue))") }
        self.model = model
        self.output = output
        self.threads = max(1, threads)
        pool = XNNThreadPool(threads: self.threads)
    }

    /// Evaluation-mode logits `[N, classes]` for an NCHW batch, as `Model.logits` gives them.
    public func logits(_ x: Tensor) throws -> Tensor {
        try output.require(.logits)
        return try forward(x)
    }

    /// Evaluation-mode pooled features `[N, F]`, as `Model.features` gives them.
    public func features(_ x: Tensor) throws -> Tensor {
        try output.require(.features)
        return try forward(x)
    }

    /// The plan's output, logits or features (`InferenceRunner` calls it for either).
    func forward(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4, x.shape.allSatisfy({ $0 > 0 }) else {
            throw XNNLoweringError.shapeMismatch("the input is \(x.shape), not a non-empty [N, C, H, W] batch")
        }
        lock.lock()
        defer { lock.unlock() }
        if plan?.inputShape != x.shape {
            plan = nil  // the previous plan's memory goes before the next one is built
            plan = try XNNPlan(model: model, inputShape: x.shape, pool: pool, output: output)
        }
        return try plan!.run(x)
    }

    /// The logits through the model's output activation (a Keras model's softmax), as `Model.outputs`.
    public func outputs(_ x: Tensor) throws -> Tensor { try model.outputActivation.apply(try logits(x)) }

    /// Whether XNNPACK has nodes for every module of the model at this input size (the error says
    /// which one is missing).
    public static func check(_ model: Model, height: Int, width: Int, channels: Int = 3) throws {
        _ = try XNNInference(model: model, threads: 1).plan(for: [1, channels, height, width])
    }

    private func plan(for shape: [Int]) throws -> XNNPlan { try XNNPlan(model: model, inputShape: shape, pool: pool, output: output) }
}

/// `xnn_initialize`, once per process.
enum XNNLibrary {
    static let initialization: xnn_status = xnn_initialize(nil)
}

/// A pthreadpool of `threads` (none for one thread: XNNPACK then runs on the caller).
final class XNNThreadPool {
    let handle: pthreadpool_t?

    init(threads: Int) { handle = threads > 1 ? pthreadpool_create(threads) : nil }
    deinit { if let handle { pthreadpool_destroy(handle) } }
}

/// Float buffers the subgraph's static tensors point into; XNNPACK requires them to outlive every
/// runtime made from the subgraph, and may read `XNN_EXTRA_BYTES` past the end of any of them.
final class XNNWeights {
    private var buffers: [UnsafeMutableBufferPointer<Float>] = []
    static let slack = 16
    /// Whether every value held so far is finite.
    private(set) var allFinite = true

    func hold(_ values: [Float]) -> UnsafeRawPointer {
        if allFinite && !values.withUnsafeBufferPointer({ $0.baseAddress.map { GraftTensor.allFinite($0, values.count) } ?? true }) {
            allFinite = false
        }
        let buffer = Self.allocate(values.count)
        _ = buffer.initialize(from: values)
        buffers.append(buffer)
        return UnsafeRawPointer(buffer.baseAddress!)
    }

    /// `count` floats plus the slack, zeroed.
    static func allocate(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count + slack)
        buffer.initialize(repeating: 0)
        return buffer
    }

    deinit { for b in buffers { b.deallocate() } }
}
