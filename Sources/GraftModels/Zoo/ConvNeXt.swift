// ConvNeXt as torchvision builds it (torchvision/models/convnext.py): "A ConvNet for the 2020s", Liu et
// al. 2022, https://arxiv.org/abs/2201.03545. Graft keeps NCHW throughout: the blocks' channels-last
// LayerNorm and Linear layers are the same arithmetic as a LayerNorm over channels and a 1×1
// convolution, so the Permute children are markers that move nothing (an observed intermediate inside
// a block is NCHW where PyTorch's is NHWC).

import Foundation
import GraftNN
import GraftTensor

/// torchvision's `ConvNeXt`: `features` (0 the 4×4 stem conv + LayerNorm2d; odd indices the stages of
/// CNBlocks; even ones from 2 a LayerNorm2d + 2×2 stride-2 conv), `avgpool`, `classifier` (0 LayerNorm2d,
/// 1 Flatten, 2 Linear).
public final class ConvNeXt: FeatureHeadNetwork {
    public let config: ConvNeXtConfig
    public let features: Sequential
    public let avgpool = AdaptiveAvgPool2d(1)
    public let classifier: Sequential

    public init(_ c: ConvNeXtConfig) {
        config = c
        let first = c.stages.first?.channels ?? 1
        var units: [Module] = [Sequential(Conv2d(3, first, kernelSize: 4, stride: 4), LayerNorm2d(first))]
        let total = c.stages.reduce(0) { $0 + $1.depth }
        var blockID = 0
        for (i, stage) in c.stages.enumerated() {
            var blocks: [Module] = []
            for _ in 0..<stage.depth {
                let p = c.stochasticDepthProbability * Float(blockID) / Float(max(total - 1, 1))
                blocks.append(CNBlock(stage.channels, layerScale: c.layerScale, stochasticDepth: p))
                blockID += 1
            }
            units.append(Sequential(blocks))
            if i + 1 < c.stages.count {
                units.append(Sequential(LayerNorm2d(stage.channels), Conv2d(stage.channels, c.stages[i + 1].channels, kernelSize: 2, stride: 2)))
            }
        }
        features = Sequential(units)
        let last = c.stages.last?.channels ?? 1
        classifier = Sequential(LayerNorm2d(last), Flatten(), Linear(last, c.numClasses))
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("features", features), ("avgpool", avgpool), ("classifier", classifier)]
    }

    public override var classifierPath: String { "classifier.2" }
    public override var headPath: String { "classifier" }

    /// torchvision: convolutions and linear layers trunc_normal(std 0.02) with zero bias (drawn here
    /// from a normal of the same std), LayerNorms γ = 1, β = 0, layer scale at its initial value.
    public func torchvisionInit(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for (_, m) in namedModules() {
            if let conv = m as? Conv2d {
                Initializer.normal(std: 0.02).fill(conv.weight, &rng)
                if let b = conv.bias { Initializer.zeros.fill(b, &rng) }
            } else if let linear = m as? Linear {
                Initializer.normal(std: 0.02).fill(linear.weight, &rng)
                if let b = linear.bias { Initializer.zeros.fill(b, &rng) }
            } else if let pw = m as? PointwiseLinear {
                Initializer.normal(std: 0.02).fill(pw.weight, &rng)
                Initializer.zeros.fill(pw.bias, &rng)
            }
        }
    }

    public override func forwardFeatures(_ x: Tensor) throws -> Tensor {
        return try flattenFeatures(try avgpool(try features(x)))
    }

    public override func forwardHead(_ f: Tensor) throws -> Tensor {
        try classifier(try f.reshaped([f.shape[0], f.count / max(f.shape[0], 1), 1, 1]))
    }

    public override func backwardHead(_ g: Tensor) throws -> Tensor? {
        guard let d = try classifier.backward(g) else { return nil }
        return try d.reshaped([d.shape[0], d.count / max(d.shape[0], 1)])
    }

    public override func backwardFeatures(_ g: Tensor) throws -> Tensor? {
        guard avgpool.recordsForBackward, let pooled = try unflattenFeatures(g), let d = try avgpool.backward(pooled),
              features.recordsForBackward else { return nil }
        return try features.backward(d)
    }
}

/// torchvision's `CNBlock`: `x + stochastic_depth(layer_scale · block(x))`, with `block` = 7×7
/// depthwise conv, Permute, LayerNorm, Linear(C, 4C), GELU, Linear(4C, C), Permute.
public final class CNBlock: Module {
    public let block: Sequential
    public let layerScale: Parameter
    public let stochasticDepth: StochasticDepth
    private var saved: (y: Tensor, scale: Tensor)?

    public init(_ dim: Int, layerScale: Float, stochasticDepth p: Float) {
        block = Sequential(
            Conv2d(dim, dim, kernelSize: 7, padding: 3, groups: dim), Permute(), LayerNorm2d(dim, typeName: "LayerNorm"),
            PointwiseLinear(dim, 4 * dim), GELU(), PointwiseLinear(4 * dim, dim), Permute())
        self.layerScale = Parameter(kind: .normAffine, shape: [dim, 1, 1], fill: layerScale)
        stochasticDepth = StochasticDepth(p)
    }

    public override var namedStates: [(name: String, state: StateEntry)] { [("layer_scale", .parameter(layerScale))] }
    public override var namedChildren: [(name: String, module: Module)] {
        [("block", block), ("stochastic_depth", stochasticDepth)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        if let out = try fusedForward(x) { return out }
        let y = try block(x)
        let n = y.shape[0], c = y.shape[1]
        // layer_scale broadcast over the batch, as channelScale's per-sample [N, C] factors.
        let scale = try Tensor(shape: [n, c], values: Array((0..<n).map { _ in layerScale.value.values }.joined()))
        var out = try stochasticDepth(try channelScale(y, scale))
        saved = recordsForBackward ? (y, scale) : nil
        try addInPlace(&out, x)
        return out
    }

    /// Inference: the block's last Linear with the layer scale folded into its weights and the
    /// residual added in its epilogue (`x + γ·(W·h + b)` as `x + (γW)·h + γb`), instead of a scaling
    /// pass and an addition pass over the map. Nil where a child is observed or traced, or training.
    private func fusedForward(_ x: Tensor) throws -> Tensor? {
        guard fusable, block.fusable, stochasticDepth.fusable, !stochasticDepth.isTraining || stochasticDepth.probability == 0,
              block.layers.count == 7, block.layers.allSatisfy(\.fusable),
              let last = block.layers[5] as? PointwiseLinear, block.layers[6] is Permute,
              layerScale.value.count == last.weight.value.shape[0] else { return nil }
        saved = nil
        let h = try Sequential.run(Array(block.layers[0..<5]), x)
        return try last.fused(h, scaledBy: layerScale, residual: x)
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved else { throw NNError.noRecordedForward("CNBlock") }
        saved = nil
        let d = try stochasticDepth.backward(gradOutput) ?? gradOutput
        let g = try channelScaleBackward(x: s.y, scale: s.scale, gradOutput: d)
        if layerScale.requiresGrad {
            let n = s.y.shape[0], c = s.y.shape[1], perSample = g.scale.values
            let summed = (0..<c).map { ch in (0..<n).reduce(Float(0)) { $0 + perSample[$1 * c + ch] } }
            try layerScale.accumulate(try Tensor(shape: [c, 1, 1], values: summed))
        }
        var dBlock = block.recordsForBackward ? try block.backward(g.input) : nil
        guard needsInputGradient else { return nil }
        return try sumOfGradients(&dBlock, gradOutput)
    }

    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        let t = block.prepareBackward(trainableBefore: trainableBefore) || layerScale.isTrainable
        stochasticDepth.recordsForBackward = t
        stochasticDepth.needsInputGradient = t
        recordsForBackward = t
        return t
    }
}

/// A Linear layer applied to the channels of every pixel (`nn.Linear` on a channels-last tensor): weight
/// `[out, in]` and bias `[out]` as torch stores them, computed as the 1×1 convolution it equals.
public final class PointwiseLinear: Module, ActivationFusing {
    public let weight: Parameter
    public let bias: Parameter
    private var saved: Tensor?
    /// The weights scaled by a following layer scale, with the versions they were made from.
    private var scaled: (scale: ObjectIdentifier, versions: [Int], weight: Tensor, bias: Tensor)?

    public init(_ inFeatures: Int, _ outFeatures: Int) {
        weight = Parameter(kind: .weight, shape: [outFeatures, inFeatures])
        bias = Parameter(kind: .bias, shape: [outFeatures])
    }

    public override var typeName: String { "Linear" }
    public override var namedStates: [(name: String, state: StateEntry)] { [("weight", .parameter(weight)), ("bias", .parameter(bias))] }

    private var kernel: Tensor { get throws { try weight.value.reshaped(weight.value.shape + [1, 1]) } }

    public override func forward(_ x: Tensor) throws -> Tensor {
        saved = recordsForBackward ? x : nil
        return try conv2d(x, weight: try kernel, bias: bias.value)
    }

    /// Inference: `activation(Linear(x))` with the activation in the convolution's last pass (GELU's,
    /// in `Sequential`'s fused path).
    public func fused(_ x: Tensor, activation: Activation) throws -> Tensor {
        try conv2d(x, weight: try kernel, bias: bias.value, activation: activation)
    }

    /// Inference: `residual + scale · Linear(x)` in one kernel, the per-output-channel `scale` (a
    /// ConvNeXt block's layer scale, `out` values) folded into the weights and bias.
    public func fused(_ x: Tensor, scaledBy scale: Parameter, residual: Tensor) throws -> Tensor {
        let (w, b) = try scaledWeights(scale)
        return try conv2d(x, weight: w, bias: b, residual: residual)
    }

    /// `scale · weight` (as a 1×1 kernel) and `scale · bias`, recomputed only when a parameter changed.
    private func scaledWeights(_ scale: Parameter) throws -> (Tensor, Tensor) {
        let versions = [weight.version, bias.version, scale.version]
        if let s = scaled, s.scale == ObjectIdentifier(scale), s.versions == versions { return (s.weight, s.bias) }
        let out = weight.value.shape[0], inputs = weight.value.shape[1]
        let g = scale.value.values, w = weight.value.values, b = bias.value.values
        var scaledW = [Float](repeating: 0, count: w.count)
        for o in 0..<out { for i in 0..<inputs { scaledW[o * inputs + i] = g[o] * w[o * inputs + i] } }
        let result = (try Tensor(shape: [out, inputs, 1, 1], values: scaledW),
                      try Tensor(shape: [out], values: (0..<out).map { g[$0] * b[$0] }))
        scaled = (ObjectIdentifier(scale), versions, result.0, result.1)
        return result
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let x = saved else { throw NNError.noRecordedForward("Linear") }
        saved = nil
        let g = try conv2dBackward(x: x, weight: try kernel, gradOutput: gradOutput, params: Conv2dParams(),
                                   inputGradient: needsInputGradient)
        try weight.accumulate(try g.weight.reshaped(weight.value.shape))
        try bias.accumulate(g.bias)
        return g.input
    }
}

/// `torch.permute` between NCHW and NHWC in torchvision's ConvNeXt block: Graft stays NCHW, so it
/// moves nothing; it keeps the block's child indices (and paths) torchvision's.
public final class Permute: Module {
    public override init() {}
    public override func forward(_ x: Tensor) throws -> Tensor { x }
    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? { needsInputGradient ? gradOutput : nil }
}
