// RegNet as torchvision builds it (torchvision/models/regnet.py): "Designing Network Design Spaces",
// Radosavovic et al. 2020, https://arxiv.org/abs/2003.13678. A stem, four stages of residual bottleneck
// blocks (1×1, grouped 3×3 with the stride, [squeeze-excitation in RegNetY], 1×1) whose widths come
// from a quantized linear rule (`RegNetConfig.fromInitParams`), a global pool and a classifier.

import GraftNN
import GraftTensor

/// torchvision's `RegNet`: children `stem` (Conv2dNormActivation 3×3 stride 2), `trunk_output` (a
/// Sequential of stages `block1`…`blockS`, each a Sequential of `ResBottleneckBlock`s named
/// `block<S>-<i>`), `avgpool` and `fc`.
public final class RegNet: FeatureHeadNetwork {
    public let config: RegNetConfig
    public let stem: Sequential
    public let trunkOutput: Sequential
    public let avgpool = AdaptiveAvgPool2d(1)
    public private(set) var fc: Linear
    private var pooledShape: [Int]?

    public init(_ c: RegNetConfig) {
        config = c
        stem = convNormActivation(3, c.stemWidth, kernelSize: 3, stride: 2, eps: c.bnEps, momentum: c.bnMomentum)
        let trunk = Sequential(named: [:])
        var width = c.stemWidth
        for s in c.depths.indices {
            let stage = Sequential(named: [:])
            for i in 0..<c.depths[s] {
                stage.append(ResBottleneckBlock(widthIn: i == 0 ? width : c.widths[s], widthOut: c.widths[s],
                                                stride: i == 0 ? c.strides[s] : 1, groupWidth: c.groupWidths[s],
                                                bottleneckMultiplier: c.bottleneckMultipliers[s], seRatio: c.seRatio,
                                                eps: c.bnEps, momentum: c.bnMomentum),
                             name: "block\(s + 1)-\(i)")
            }
            trunk.append(stage, name: "block\(s + 1)")
            width = c.widths[s]
        }
        trunkOutput = trunk
        fc = Linear(width, c.numClasses)
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("stem", stem), ("trunk_output", trunkOutput), ("avgpool", avgpool), ("fc", fc)]
    }

    public override func setChild(_ name: String, _ module: Module) throws {
        guard name == "fc", let linear = module as? Linear else { throw NNError.cannotReplace(parent: typeName, child: name) }
        fc = linear
    }

    public override var classifierPath: String { "fc" }

    public override func forwardFeatures(_ x: Tensor) throws -> Tensor {
        let pooled = try avgpool(try trunkOutput(try stem(x)))
        pooledShape = pooled.shape
        return try pooled.reshaped([pooled.shape[0], pooled.shape[1]])
    }

    public override func forwardHead(_ f: Tensor) throws -> Tensor { try fc(f) }
    public override func backwardHead(_ g: Tensor) throws -> Tensor? { try fc.backward(g) }

    public override func backwardFeatures(_ g: Tensor) throws -> Tensor? {
        guard let shape = pooledShape, avgpool.recordsForBackward, let d = try avgpool.backward(try g.reshaped(shape)),
              trunkOutput.recordsForBackward, let t = try trunkOutput.backward(d), stem.recordsForBackward else { return nil }
        return try stem.backward(t)
    }
}

/// torchvision's `ResBottleneckBlock`: `activation(proj(x) + f(x))`, with `proj` (1×1 conv + BN with
/// the stride, no activation) only when the width or the resolution changes, `f` the
/// `BottleneckTransform` (a Sequential `a`, `b`, [`se`], `c`) and `activation` a ReLU.
///
/// At inference every convolution has its BatchNorm folded, and `c` adds the shortcut and applies the
/// ReLU in its epilogue.
public final class ResBottleneckBlock: Module {
    public let proj: Sequential?
    public let f: Sequential
    public let activation = ReLU()
    private var savedOutput: Tensor?

    public init(widthIn: Int, widthOut: Int, stride: Int, groupWidth: Int, bottleneckMultiplier: Double = 1.0,
                seRatio: Double? = nil, eps: Float = 1e-5, momentum: Float = 0.1) {
        if widthIn != widthOut || stride != 1 {
            proj = convNormActivation(widthIn, widthOut, kernelSize: 1, stride: stride, eps: eps, momentum: momentum, activation: .none)
        } else {
            proj = nil
        }
        let wb = RegNetConfig.bottleneckWidth(widthOut, bottleneckMultiplier)
        let groups = wb / groupWidth
        let transform = Sequential(named: [
            "a": convNormActivation(widthIn, wb, kernelSize: 1, eps: eps, momentum: momentum),
            "b": convNormActivation(wb, wb, kernelSize: 3, stride: stride, groups: groups, eps: eps, momentum: momentum),
        ])
        if let seRatio, seRatio > 0 {
            transform.append(SqueezeExcitation(inputChannels: wb, squeezeChannels: RegNetConfig.squeezeWidth(widthIn, seRatio)),
                             name: "se")
        }
        transform.append(convNormActivation(wb, widthOut, kernelSize: 1, eps: eps, momentum: momentum, activation: .none), name: "c")
        f = transform
    }

    public override var namedChildren: [(name: String, module: Module)] {
        (proj.map { [("proj", $0 as Module)] } ?? []) + [("f", f), ("activation", activation)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        if !recordsForBackward, let last = f.layers.last as? Sequential, let conv = last.layers.first as? Conv2d,
           let norm = last.layers.last as? BatchNorm2d, !norm.normalizesWithBatch,
           activation.fusable, last.fusable, conv.fusable, norm.fusable {
            // Inference: f's body as its Sequentials fuse it, then c's conv with its BN folded, the
            // shortcut added and the ReLU applied in one kernel.
            let shortcut = try proj?(x) ?? x
            var h = x
            for m in f.layers.dropLast() { h = try m(h) }
            let out = try conv.fused(h, norm: norm, activation: .relu, residual: shortcut)
            if let observer = f.outputObserver {
                // f's own output is wanted: compute it unfused (observers are for inspection, not speed).
                observer(try last.forward(h))
            }
            return out
        }
        let shortcut = try proj?(x) ?? x
        var out = try f(x)
        try addInPlace(&out, shortcut, activation: .relu)
        if let observer = activation.outputObserver { observer(out) }
        savedOutput = recordsForBackward ? out : nil
        return out
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let y = savedOutput else { throw NNError.noRecordedForward("ResBottleneckBlock") }
        savedOutput = nil
        let d = try activationBackward(.relu, gradOutput: gradOutput, output: y)
        var dMain = f.recordsForBackward ? try f.backward(d) : nil
        let dSkip: Tensor? = proj == nil ? d : (proj!.recordsForBackward ? try proj!.backward(d) : nil)
        guard needsInputGradient else { return nil }
        return try sumOfGradients(&dMain, dSkip)
    }

    /// Both paths start from the block's input.
    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        let a = f.prepareBackward(trainableBefore: trainableBefore)
        let b = proj?.prepareBackward(trainableBefore: trainableBefore) ?? trainableBefore
        activation.needsInputGradient = a || b
        activation.recordsForBackward = a || b
        recordsForBackward = a || b
        return a || b
    }
}
