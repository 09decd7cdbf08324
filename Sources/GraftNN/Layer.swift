import GraftTensor

/// A layer with its forward and backward pass side by side.
///
/// In training mode `forward` keeps what `backward` needs (the input, batch statistics, masks) —
/// but only when `recordsForBackward` is set: layers of a frozen backbone whose outputs need no
/// gradient run their inference path and keep nothing. `backward` takes ∂L/∂output, adds the
/// parameters' gradients into `Parameter.grad`, and returns ∂L/∂input (or nil when no earlier layer
/// needs it).
public protocol Layer: AnyObject {
    func forward(_ x: Tensor) throws -> Tensor
    func backward(_ gradOutput: Tensor) throws -> Tensor?
    /// Every parameter and buffer in state-dict order.
    var parameters: [Parameter] { get }
    /// BatchNorm counters in state-dict order.
    var counters: [Counter] { get }
    /// Children, for mode and recording settings.
    var children: [Layer] { get }
    /// Training mode (batch statistics, dropout) versus evaluation.
    var isTraining: Bool { get set }
    /// Keep activations for backward; set by `Network.prepareBackward`.
    var recordsForBackward: Bool { get set }
    /// Return ∂L/∂input from backward (false for the first layers, whose input is the image).
    var needsInputGradient: Bool { get set }
    /// Decides what this subtree records for backward, given whether any parameter before it is
    /// trainable; returns whether any parameter up to and including it is.
    func prepareBackward(trainableBefore: Bool) -> Bool
}

extension Layer {
    public var parameters: [Parameter] { children.flatMap(\.parameters) }
    public var counters: [Counter] { children.flatMap(\.counters) }
    public var children: [Layer] { [] }

    /// Sets the mode on this layer and every descendant.
    public func setTraining(_ training: Bool) {
        isTraining = training
        for child in children { child.setTraining(training) }
    }

    /// Default: children run one after another (a leaf has none).
    public func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        if children.isEmpty {
            let trainable = trainableBefore || hasTrainableParameters
            recordsForBackward = trainable
            return trainable
        }
        var before = trainableBefore
        for child in children { before = child.prepareBackward(trainableBefore: before) }
        recordsForBackward = before
        return before
    }

    /// Whether this layer or a descendant has a parameter the optimizer updates.
    public var hasTrainableParameters: Bool { parameters.contains { $0.isTrainable } }

    /// Every layer of the subtree, depth first, self first.
    public var allLayers: [Layer] { [self] + children.flatMap(\.allLayers) }
}

/// Storage for the flags every layer carries.
open class LayerBase {
    public var isTraining = false
    public var recordsForBackward = false
    public var needsInputGradient = true

    public init() {}
}

public enum NNError: Error, CustomStringConvertible, Equatable {
    /// `backward` was called without a recorded training-mode forward.
    case noRecordedForward(String)

    public var description: String {
        switch self {
        case .noRecordedForward(let layer):
            return "\(layer).backward called without a recorded forward (set training mode and prepareBackward)"
        }
    }
}
