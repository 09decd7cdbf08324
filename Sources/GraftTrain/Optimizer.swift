import GraftNN
import GraftTensor

/// Parameters that share hyper-parameters: one layer group of discriminative fine-tuning.
public final class ParameterGroup {
    public let name: String
    public var parameters: [Parameter]
    /// The learning rate for the current step (schedules write it).
    public var learningRate: Float
    /// The schedule's peak for this group (schedules scale it).
    public var baseLearningRate: Float
    public var weightDecay: Float
    /// SGD momentum, or Adam's β1 (one-cycle cycles it).
    public var momentum: Float

    public init(name: String, parameters: [Parameter], learningRate: Float, weightDecay: Float, momentum: Float) {
        self.name = name
        self.parameters = parameters
        self.learningRate = learningRate
        self.baseLearningRate = learningRate
        self.weightDecay = weightDecay
        self.momentum = momentum
    }
}

/// An optimizer over parameter groups, computing updates as `torch.optim` does (single-tensor
/// implementations, float32 arithmetic, the same order of operations) so that a run can be checked
/// step by step against PyTorch.
public protocol Optimizer: AnyObject, OptimizerStateful {
    var groups: [ParameterGroup] { get }
    /// Applies one update from the accumulated gradients; parameters without a gradient are skipped.
    func step() throws
}

extension Optimizer {
    /// Clears every gradient (torch's `zero_grad(set_to_none=True)`).
    public func zeroGradients() {
        for g in groups { for p in g.parameters { p.grad = nil } }
    }
}

/// Optimizer state of one parameter (momentum buffer, Adam moments): a zeroed float buffer.
final class StateBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        self.count = count
    }

    deinit { pointer.deallocate() }
}

extension Parameter {
    /// Runs an element-wise update over the value (mutable) and the gradient; bumps `version`.
    func update(_ body: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void) {
        guard let grad else { return }
        value.withUnsafeMutableBufferPointer { v in
            grad.withUnsafeBufferPointer { g in body(v.baseAddress!, g.baseAddress!, min(v.count, g.count)) }
        }
    }
}
