import GraftTensor

/// A tensor of a model's state: a learnable weight, or a buffer such as BatchNorm's running
/// statistics. Its name is its place in the module tree (`Module.namedParameters()`), nothing it
/// stores itself. `version` changes whenever the value does, which lets modules cache derived tensors
/// (BatchNorm folded into a convolution) safely.
public final class Parameter {
    public enum Kind: Sendable {
        /// Convolution and linear weights (weight decay applies).
        case weight
        /// Biases of convolutions and linear layers.
        case bias
        /// Normalization layers' learnable scale and shift (γ, β).
        case normAffine
        /// Running statistics: state, never trained by an optimizer.
        case buffer
    }

    public let kind: Kind
    /// Every change bumps `version`. In-place changes (an optimizer step through
    /// `withUnsafeMutableBufferPointer`) reach the stored tensor itself: with a `didSet` observer
    /// Swift would mutate a copy and store it back, so the buffer was shared during the mutation and
    /// copy-on-write duplicated every weight on every step (ResNet-18: 47 MB per step).
    public var value: Tensor {
        get { storedValue }
        set { storedValue = newValue; version &+= 1 }
        _modify {
            yield &storedValue
            version &+= 1
        }
    }
    private var storedValue: Tensor
    /// The accumulated gradient of the loss, once a backward pass has produced one.
    public var grad: Tensor?
    /// Whether the optimizer updates it (false for frozen layers and for buffers).
    public var requiresGrad: Bool
    public private(set) var version = 0

    public init(kind: Kind, value: Tensor) {
        self.kind = kind
        self.storedValue = value
        self.requiresGrad = kind != .buffer
    }

    /// A zero-filled parameter of `shape` (the zoo's modules start so; loading or `initialize` fills them).
    /// Under a `ParameterBudget` that it would exceed, the parameter stays empty.
    public convenience init(kind: Kind, shape: [Int], fill: Float = 0) {
        let count = shape.reduce(into: Optional(1)) { n, d in
            n = n.flatMap { d < 0 ? nil : $0.multipliedReportingOverflow(by: d).overflow ? nil : $0 * d }
        }
        let budget = ParameterBudget.current
        let fits = budget.map { budget in count.map { budget.take($0) } ?? false } ?? true
        if fits, budget?.shapesOnly == true, let t = try? Tensor(uninitializedShape: shape) {
            self.init(kind: kind, value: t)
            return
        }
        var t = (fits ? try? Tensor(shape: shape) : nil) ?? (try! Tensor(shape: [0]))
        if fill != 0 { t.withUnsafeMutableBufferPointer { $0.update(repeating: fill) } }
        self.init(kind: kind, value: t)
    }

    public var shape: [Int] { value.shape }

    /// Adds `g` to the gradient (gradients of a parameter used twice add up, as in autograd).
    public func accumulate(_ g: Tensor) throws {
        guard requiresGrad else { return }
        if var existing = grad {
            grad = nil  // release the reference so the in-place add does not copy
            try addInPlace(&existing, g)
            grad = existing
        } else {
            grad = g
        }
    }

    public var isTrainable: Bool { requiresGrad && kind != .buffer }
}

/// torch's `num_batches_tracked`: an int64 counter that float storage could not hold exactly.
public final class Counter {
    public var value: Int64

    public init(value: Int64 = 0) { self.value = value }
}
