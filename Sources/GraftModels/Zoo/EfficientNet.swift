// EfficientNet as torchvision builds it (torchvision/models/efficientnet.py): "EfficientNet: Rethinking
// Model Scaling for Convolutional Neural Networks", Tan & Le 2019, https://arxiv.org/abs/1905.11946, and
// EfficientNetV2 (https://arxiv.org/abs/2104.00298). The same graph serves EfficientNet-Lite (no
// squeeze-excitation, ReLU6) and the TF ports (TF "same" padding, BatchNorm eps 1e-3) through
// `EfficientNetConfig`.

import GraftNN
import GraftTensor

/// torchvision's `EfficientNet`: children [`normalization` (Keras only)], `features` (0 the stem, 1…S
/// the stages of MBConv / FusedMBConv blocks, S+1 the head conv), `avgpool`, `classifier` (0 Dropout,
/// 1 Linear).
public final class EfficientNet: FeatureHeadNetwork {
    public let config: EfficientNetConfig
    public let normalization: KerasInputNormalization?
    public let features: Sequential
    public let avgpool = AdaptiveAvgPool2d(1)
    public let classifier: Sequential

    public init(_ c: EfficientNetConfig, stochasticDepthProbability: Float = 0.2) {
        config = c
        let act: Activation = c.activation == .silu ? .silu : .relu6
        let tfSame = c.padding == .tfSame
        func unit(_ inC: Int, _ outC: Int, k: Int, s: Int = 1, groups: Int = 1, _ a: Activation) -> Sequential {
            convNormActivation(inC, outC, kernelSize: k, stride: s, groups: groups, eps: c.bnEps, momentum: c.bnMomentum,
                               activation: a, tfSame: tfSame)
        }
        normalization = c.kerasInputNormalization ? KerasInputNormalization() : nil
        var units: [Module] = [unit(3, c.stemChannels, k: 3, s: 2, act)]
        let total = c.stages.reduce(0) { $0 + $1.layers }
        var blockID = 0
        for stage in c.stages {
            var blocks: [Module] = []
            for b in 0..<stage.layers {
                let inC = b == 0 ? stage.inChannels : stage.outChannels
                let stride = b == 0 ? stage.stride : 1
                var parts: [Module] = []
                let expanded = EfficientNetConfig.makeDivisible(Double(inC * stage.expandRatio))
                switch stage.kind {
                case .mbconv:
                    if expanded != inC { parts.append(unit(inC, expanded, k: 1, act)) }
                    parts.append(unit(expanded, expanded, k: stage.kernel, s: stride, groups: expanded, act))
                    if let ratio = stage.seRatio {
                        let squeeze = c.squeezeChannels(input: inC, expanded: expanded, expandRatio: stage.expandRatio, seRatio: ratio)
                        parts.append(SqueezeExcitation(inputChannels: expanded, squeezeChannels: squeeze, activation: act.module!))
                    }
                    parts.append(unit(expanded, stage.outChannels, k: 1, .none))
                case .fused:
                    if expanded != inC {
                        parts.append(unit(inC, expanded, k: stage.kernel, s: stride, act))
                        parts.append(unit(expanded, stage.outChannels, k: 1, .none))
                    } else {
                        parts.append(unit(inC, stage.outChannels, k: stage.kernel, s: stride, act))
                    }
                }
                let residual = stride == 1 && inC == stage.outChannels && (b > 0 || c.firstBlockResidual)
                let p = stochasticDepthProbability * Float(blockID) / Float(max(total, 1))
                blocks.append(MBConv(block: Sequential(parts), stochasticDepth: StochasticDepth(p), residual: residual,
                                     fused: stage.kind == .fused))
                blockID += 1
            }
            units.append(Sequential(blocks))
        }
        let last = c.stages.last?.outChannels ?? c.stemChannels
        units.append(unit(last, c.headChannels, k: 1, act))
        features = Sequential(units)
        classifier = Sequential(Dropout(c.dropout), Linear(c.headChannels, c.numClasses))
    }

    public override var namedChildren: [(name: String, module: Module)] {
        (normalization.map { [("normalization", $0 as Module)] } ?? [])
            + [("features", features), ("avgpool", avgpool), ("classifier", classifier)]
    }

    public override var classifierPath: String { "classifier.1" }
    public override var headPath: String { "classifier" }

    public override func forwardFeatures(_ x: Tensor) throws -> Tensor {
        let input = try normalization?(x) ?? x
        return try flattenFeatures(try avgpool(try features(input)))
    }

    public override func forwardHead(_ f: Tensor) throws -> Tensor { try classifier(f) }
    public override func backwardHead(_ g: Tensor) throws -> Tensor? { try classifier.backward(g) }

    public override func backwardFeatures(_ g: Tensor) throws -> Tensor? {
        guard avgpool.recordsForBackward, let pooled = try unflattenFeatures(g), let d = try avgpool.backward(pooled),
              features.recordsForBackward else { return nil }
        return try features.backward(d)
    }
}

/// torchvision's `MBConv` / `FusedMBConv`: `block(x)`, plus the input through stochastic depth when
/// the block keeps its shape. Children `block` and `stochastic_depth`.
public final class MBConv: Module {
    public let block: Sequential
    public let stochasticDepth: StochasticDepth
    public let residual: Bool
    public let isFused: Bool

    public init(block: Sequential, stochasticDepth: StochasticDepth, residual: Bool, fused: Bool = false) {
        self.block = block
        self.stochasticDepth = stochasticDepth
        self.residual = residual
        self.isFused = fused
    }

    public override var typeName: String { isFused ? "FusedMBConv" : "MBConv" }

    public override var namedChildren: [(name: String, module: Module)] {
        [("block", block), ("stochastic_depth", stochasticDepth)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        var out = try block(x)
        guard residual else { return out }
        out = try stochasticDepth(out)
        try addInPlace(&out, x)
        return out
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        var d = gradOutput
        if residual, let g = try stochasticDepth.backward(d) { d = g }
        var dBlock = block.recordsForBackward ? try block.backward(d) : nil
        guard needsInputGradient, dBlock != nil else { return nil }
        return residual ? try sumOfGradients(&dBlock, gradOutput) : dBlock
    }

    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        let t = block.prepareBackward(trainableBefore: trainableBefore)
        stochasticDepth.recordsForBackward = t
        stochasticDepth.needsInputGradient = t
        recordsForBackward = t
        return t
    }
}
