import GraftTensor

/// A tensor of a model's state under its full checkpoint name (`layer1.0.conv1.weight`): a learnable
/// weight, or a buffer such as BatchNorm's running statistics.
///
/// The name is given once, when the model is built from a checkpoint, so exporting the trained model
/// writes exactly the keys it was loaded from. `version` changes whenever the value does, which lets
/// layers cache derived tensors (BatchNorm folded into a convolution) safely.
public final class Parameter {
    public enum Kind: Sendable {
        /// Convolution and linear weights (weight decay applies).
        case weight
        /// Biases of convolutions and linear layers.
        case bias
        /// BatchNorm's learnable scale and shift (γ, β).
        case normAffine
        /// Running statistics: state, never trained by an optimizer.
        case buffer
    }

    public let name: String
    public let kind: Kind
    public var value: Tensor { didSet { version &+= 1 } }
    /// The accumulated gradient of the loss, once a backward pass has produced one.
    public var grad: Tensor?
    /// Whether the optimizer updates it (false for frozen layers and for buffers).
    public var requiresGrad: Bool
    public private(set) var version = 0

    public init(name: String, kind: Kind, value: Tensor) {
        self.name = name
        self.kind = kind
        self.value = value
        self.requiresGrad = kind != .buffer
    }

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
    public let name: String
    public var value: Int64

    public init(name: String, value: Int64) {
        self.name = name
        self.value = value
    }
}
