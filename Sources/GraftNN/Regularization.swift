import GraftTensor

/// The random stream of a network's dropout and stochastic-depth layers: one per network, seeded by
/// the trainer, so a run is reproducible.
public final class RandomSource {
    public var generator: SeededGenerator

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }
}

/// Dropout: identity in evaluation; in training zeroes elements with probability p and scales the
/// rest by 1/(1−p).
public final class Dropout: LayerBase, Layer {
    public var probability: Float
    public let random: RandomSource
    private var mask: Tensor?

    public init(probability: Float, random: RandomSource) {
        self.probability = probability
        self.random = random
    }

    public func forward(_ x: Tensor) throws -> Tensor {
        guard isTraining && probability > 0 else { mask = nil; return x }
        let r = try dropout(x, probability: probability, training: true, generator: &random.generator)
        mask = r.mask
        return r.output
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        guard needsInputGradient else { return nil }
        return try dropoutBackward(gradOutput: gradOutput, mask: mask)
    }
}

/// torchvision's StochasticDepth(p, "row"): drops a residual branch per sample in training.
public final class StochasticDepth: LayerBase, Layer {
    public var probability: Float
    public let random: RandomSource
    private var keep: Tensor?

    public init(probability: Float, random: RandomSource) {
        self.probability = probability
        self.random = random
    }

    public func forward(_ x: Tensor) throws -> Tensor {
        guard isTraining && probability > 0 else { keep = nil; return x }
        let r = try stochasticDepth(x, probability: probability, training: true, generator: &random.generator)
        keep = r.keep
        return r.output
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        guard needsInputGradient else { return nil }
        return try stochasticDepthBackward(gradOutput: gradOutput, keep: keep)
    }
}

/// An activation as a layer of its own (VGG's classifier ReLUs).
public final class ActivationLayer: LayerBase, Layer {
    public let kind: Activation
    private var input: Tensor?

    public init(_ kind: Activation) { self.kind = kind }

    public func forward(_ x: Tensor) throws -> Tensor {
        input = recordsForBackward ? x : nil
        return activation(x, kind)
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        guard let x = input else { throw NNError.noRecordedForward("ActivationLayer") }
        input = nil
        return needsInputGradient ? try activationBackward(kind, gradOutput: gradOutput, input: x) : nil
    }
}
