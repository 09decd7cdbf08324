import GraftTensor

/// A fully connected layer, `y = x·Wᵀ + b`, weight `[out, in]` as torch stores it.
public final class Linear: LayerBase, Layer {
    public let weight: Parameter
    public let bias: Parameter?
    /// Applied to the output (fused into the kernel): VGG's hidden classifier layers use ReLU.
    public let activation: Activation
    private var saved: (x: Tensor, y: Tensor)?

    public init(weight: Parameter, bias: Parameter?, activation: Activation = .none) {
        self.weight = weight
        self.bias = bias
        self.activation = activation
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
    public var outFeatures: Int { weight.value.shape[0] }
    public var inFeatures: Int { weight.value.shape[1] }

    public func forward(_ x: Tensor) throws -> Tensor {
        let y = try linear(x, weight: weight.value, bias: bias?.value, activation: activation)
        saved = recordsForBackward ? (x, y) : nil
        return y
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved else { throw NNError.noRecordedForward("Linear(\(weight.name))") }
        saved = nil
        let dy = activation == .none ? gradOutput : try activationBackward(activation, gradOutput: gradOutput, output: s.y)
        let x = s.x
        let g = try linearBackward(x: x, weight: weight.value, gradOutput: dy, inputGradient: needsInputGradient)
        try weight.accumulate(g.weight)
        try bias?.accumulate(g.bias)
        return g.input
    }
}
