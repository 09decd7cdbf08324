import GraftTensor

/// A fully connected layer, `y = x·Wᵀ + b`, weight `[out, in]` as torch stores it.
public final class Linear: LayerBase, Layer {
    public let weight: Parameter
    public let bias: Parameter?
    private var savedInput: Tensor?

    public init(weight: Parameter, bias: Parameter?) {
        self.weight = weight
        self.bias = bias
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
    public var outFeatures: Int { weight.value.shape[0] }
    public var inFeatures: Int { weight.value.shape[1] }

    public func forward(_ x: Tensor) throws -> Tensor {
        savedInput = recordsForBackward ? x : nil
        return try linear(x, weight: weight.value, bias: bias?.value)
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        guard let x = savedInput else { throw NNError.noRecordedForward("Linear(\(weight.name))") }
        savedInput = nil
        let g = try linearBackward(x: x, weight: weight.value, gradOutput: gradOutput, inputGradient: needsInputGradient)
        try weight.accumulate(g.weight)
        try bias?.accumulate(g.bias)
        return g.input
    }
}
