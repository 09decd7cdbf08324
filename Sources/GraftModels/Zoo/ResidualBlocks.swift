import GraftNN
import GraftTensor

/// A ResNet block: `relu(main(x) + shortcut(x))`, shortcut = identity or a strided 1×1 conv + BN.
/// The residual add and the final ReLU are one fused kernel.
public final class ResidualBlock: LayerBase, Layer {
    public let main: Sequential
    public let downsample: ConvNormActivation?
    private var savedOutput: Tensor?

    public init(main: Sequential, downsample: ConvNormActivation?) {
        self.main = main
        self.downsample = downsample
    }

    public var children: [Layer] { [main] + (downsample.map { [$0] } ?? []) }

    public func forward(_ x: Tensor) throws -> Tensor {
        if !recordsForBackward, let last = main.layers.last as? ConvNormActivation {
            // Inference: the last convolution adds the shortcut and applies the ReLU in its epilogue.
            let shortcut = try downsample?.forward(x) ?? x
            var h = x
            for layer in main.layers.dropLast() { h = try layer.forward(h) }
            if let out = try last.fusedForward(h, residual: shortcut, activation: .relu) { return out }
            var out = try last.forward(h)
            try addInPlace(&out, shortcut, activation: .relu)
            return out
        }
        var out = try main.forward(x)
        try addInPlace(&out, try downsample?.forward(x) ?? x, activation: .relu)
        savedOutput = recordsForBackward ? out : nil
        return out
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        guard let y = savedOutput else { throw NNError.noRecordedForward("ResidualBlock") }
        savedOutput = nil
        let d = try activationBackward(.relu, gradOutput: gradOutput, output: y)
        let dMain = try main.backward(d)
        let dShort: Tensor?
        if let downsample { dShort = try downsample.backward(d) } else { dShort = d }
        guard needsInputGradient, var dx = dMain, let ds = dShort else { return nil }
        try addInPlace(&dx, ds)
        return dx
    }

    /// Both paths start from the block's input.
    public func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        let a = main.prepareBackward(trainableBefore: trainableBefore)
        let b = downsample?.prepareBackward(trainableBefore: trainableBefore) ?? trainableBefore
        recordsForBackward = a || b
        return a || b
    }
}

/// EfficientNet's MBConv / FusedMBConv wrapper: `block(x)`, plus the input through stochastic depth
/// when the block keeps its shape.
public final class InvertedResidual: LayerBase, Layer {
    public let block: Sequential
    public let stochasticDepth: StochasticDepth?
    public let residual: Bool

    public init(block: Sequential, stochasticDepth: StochasticDepth?, residual: Bool) {
        self.block = block
        self.stochasticDepth = stochasticDepth
        self.residual = residual
    }

    public var children: [Layer] { [block] + (stochasticDepth.map { [$0] } ?? []) }

    public func forward(_ x: Tensor) throws -> Tensor {
        var out = try block.forward(x)
        guard residual else { return out }
        if let sd = stochasticDepth { out = try sd.forward(out) }
        try addInPlace(&out, x)
        return out
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        var d = gradOutput
        if residual, let sd = stochasticDepth, let g = try sd.backward(d) { d = g }
        let dBlock = try block.backward(d)
        guard needsInputGradient, var dx = dBlock else { return nil }
        if residual { try addInPlace(&dx, gradOutput) }
        return dx
    }

    public func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        let t = block.prepareBackward(trainableBefore: trainableBefore)
        stochasticDepth?.recordsForBackward = t
        stochasticDepth?.needsInputGradient = t
        recordsForBackward = t
        return t
    }
}
