import GraftTensor

/// `nn.Dropout(p)`: identity in evaluation; in training zeroes elements with probability p and scales
/// the rest by 1/(1−p).
public final class Dropout: Module, RandomizedModule {
    public var probability: Float
    public var random: RandomSource
    private var mask: Tensor?

    public init(_ probability: Float = 0.5, random: RandomSource = RandomSource(seed: 0)) {
        self.probability = probability
        self.random = random
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        guard isTraining && probability > 0 else { mask = nil; return x }
        let r = try dropout(x, probability: probability, training: true, generator: &random.generator)
        mask = r.mask
        return r.output
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard needsInputGradient else { return nil }
        return try dropoutBackward(gradOutput: gradOutput, mask: mask)
    }
}

/// torchvision's `StochasticDepth(p, "row")`: drops a residual branch per sample in training.
public final class StochasticDepth: Module, RandomizedModule {
    public var probability: Float
    public var random: RandomSource
    private var keep: Tensor?

    public init(_ probability: Float, random: RandomSource = RandomSource(seed: 0)) {
        self.probability = probability
        self.random = random
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        guard isTraining && probability > 0 else { keep = nil; return x }
        let r = try stochasticDepth(x, probability: probability, training: true, generator: &random.generator)
        keep = r.keep
        return r.output
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard needsInputGradient else { return nil }
        return try stochasticDepthBackward(gradOutput: gradOutput, keep: keep)
    }
}
