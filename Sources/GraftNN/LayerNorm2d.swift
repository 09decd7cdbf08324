import GraftTensor

/// Layer normalization over the channels of an NCHW tensor at each pixel: torchvision's
/// `LayerNorm2d` (ConvNeXt's stem, downsampling and head) and, on Graft's NCHW layout, the
/// channels-last `nn.LayerNorm(C)` inside ConvNeXt blocks. `weight` (γ) and `bias` (β) of shape `[C]`.
public final class LayerNorm2d: Module {
    public let weight: Parameter
    public let bias: Parameter
    public let channels: Int
    public let eps: Float
    /// "LayerNorm2d" or, for the channels-last form, "LayerNorm".
    public let name: String
    private var saved: (x: Tensor, statistics: LayerNormStatistics)?

    public init(_ channels: Int, eps: Float = 1e-6, typeName: String = "LayerNorm2d") {
        self.channels = channels
        self.eps = eps
        name = typeName
        weight = Parameter(kind: .normAffine, shape: [channels], fill: 1)
        bias = Parameter(kind: .normAffine, shape: [channels])
    }

    public override var typeName: String { name }

    public override var namedStates: [(name: String, state: StateEntry)] {
        [("weight", .parameter(weight)), ("bias", .parameter(bias))]
    }

    public override func resetParameters(_ scheme: InitScheme, _ rng: inout SeededGenerator) {
        Initializer.ones.fill(weight, &rng)
        Initializer.zeros.fill(bias, &rng)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let (y, stats) = try layerNormChannels(x, gamma: weight.value, beta: bias.value, eps: eps)
        saved = recordsForBackward ? (x, stats) : nil
        return y
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved else { throw NNError.noRecordedForward(typeName) }
        saved = nil
        let g = try layerNormChannelsBackward(x: s.x, gradOutput: gradOutput, gamma: weight.value, statistics: s.statistics,
                                              inputGradient: needsInputGradient)
        try weight.accumulate(g.gamma)
        try bias.accumulate(g.beta)
        return g.input
    }
}
