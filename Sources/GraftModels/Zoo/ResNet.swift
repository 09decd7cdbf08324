// ResNet as torchvision builds it (torchvision/models/resnet.py): "Deep Residual Learning for Image
// Recognition", He et al. 2015, https://arxiv.org/abs/1512.03385, in the v1.5 form whose bottleneck puts
// the stride on the 3×3 convolution; ResNeXt (groups) and Wide ResNet (width per group) are the same
// graph with other numbers. Keras' ResNet v1 (`style: .keras`) differs in a few places, noted below.

import GraftNN
import GraftTensor

/// torchvision's `ResNet`: children `conv1`, `bn1`, `relu`, `maxpool`, `layer1`…`layer4`, `avgpool`, `fc`.
public final class ResNet: FeatureHeadNetwork {
    public let config: ResNetConfig
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let relu = ReLU()
    /// torchvision pads the max pool with −∞; Keras pools over ZeroPadding2D(1) (the same after a
    /// ReLU, but kept exact).
    public let maxpool: Module
    public let stages: [Sequential]
    public let avgpool = AdaptiveAvgPool2d(1)
    public private(set) var fc: Linear

    public init(_ config: ResNetConfig) {
        self.config = config
        let keras = config.style == .keras
        var inplanes = config.stemWidth ?? config.widths[0]
        conv1 = Conv2d(3, inplanes, kernelSize: 7, stride: 2, padding: 3, bias: keras)
        bn1 = BatchNorm2d(inplanes, eps: config.bnEps)
        maxpool = keras ? Sequential(ZeroPad2d(top: 1, left: 1, bottom: 1, right: 1), MaxPool2d(kernelSize: 3, stride: 2))
            : MaxPool2d(kernelSize: 3, stride: 2, padding: 1)
        var stages: [Sequential] = []
        for (stage, (planes, count)) in zip(config.widths, config.layers).enumerated() {
            var blocks: [Module] = []
            for i in 0..<count {
                let stride = i == 0 && stage > 0 ? 2 : 1
                blocks.append(ResNetBlock(config, inplanes: inplanes, planes: planes, stride: stride, first: i == 0))
                inplanes = planes * config.expansion
            }
            stages.append(Sequential(blocks))
        }
        self.stages = stages
        fc = Linear(inplanes, config.numClasses)
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("conv1", conv1), ("bn1", bn1), ("relu", relu), ("maxpool", maxpool)]
            + stages.enumerated().map { ("layer\($0.offset + 1)", $0.element) } + [("avgpool", avgpool), ("fc", fc)]
    }

    public override func setChild(_ name: String, _ module: Module) throws {
        guard name == "fc", let linear = module as? Linear else { throw NNError.cannotReplace(parent: typeName, child: name) }
        fc = linear
    }

    public override var classifierPath: String { "fc" }

    public override func resetParameters(_ scheme: InitScheme, _ rng: inout SeededGenerator) {}

    public override func forwardFeatures(_ x: Tensor) throws -> Tensor {
        var h = conv1.fusable && bn1.fusable && relu.fusable && !bn1.normalizesWithBatch
            ? try conv1.fused(x, norm: bn1, activation: .relu) : try bn1.forwardReLU(try conv1(x), after: relu)
        h = try maxpool(h)
        for stage in stages { h = try stage(h) }
        return try flattenFeatures(try avgpool(h))
    }

    public override func forwardHead(_ features: Tensor) throws -> Tensor { try fc(features) }

    public override func backwardHead(_ gradOutput: Tensor) throws -> Tensor? { try fc.backward(gradOutput) }

    public override func backwardFeatures(_ g: Tensor) throws -> Tensor? {
        guard avgpool.recordsForBackward, let pooled = try unflattenFeatures(g), var d = try avgpool.backward(pooled)
        else { return nil }
        for stage in stages.reversed() {
            guard stage.recordsForBackward, let next = try stage.backward(d) else { return nil }
            d = next
        }
        guard maxpool.recordsForBackward, let dPool = try maxpool.backward(d) else { return nil }
        // The stem's ReLU goes back through bn1 (forwardReLU).
        guard bn1.recordsForBackward, let dz = try bn1.backward(dPool) else { return nil }
        return try conv1.backward(dz)
    }
}

/// BasicBlock (3×3, 3×3) or Bottleneck (1×1, 3×3 with the stride and groups, 1×1 ×4), with a 1×1 conv +
/// BN projection (`downsample`) when the shape changes: `relu(bn_last(conv_last(…)) + shortcut(x))`.
/// Children `conv1`, `bn1`, `conv2`, `bn2`[, `conv3`, `bn3`], `relu`[, `downsample`] as torchvision's.
public final class ResNetBlock: Module {
    public let convs: [Conv2d]
    public let norms: [BatchNorm2d]
    public let relu = ReLU()
    public let downsample: Sequential?
    public let isBottleneck: Bool
    private var savedOutput: Tensor?

    init(_ c: ResNetConfig, inplanes: Int, planes: Int, stride: Int, first: Bool) {
        let keras = c.style == .keras
        // Keras (v1) strides the first 1×1; torchvision (v1.5) the 3×3.
        let (s1, s2) = keras ? (stride, 1) : (1, stride)
        let out = planes * c.expansion
        switch c.block {
        case .basic:
            isBottleneck = false
            convs = [Conv2d(inplanes, planes, kernelSize: 3, stride: stride, padding: 1, bias: false),
                     Conv2d(planes, planes, kernelSize: 3, padding: 1, bias: false)]
            norms = [BatchNorm2d(planes, eps: c.bnEps), BatchNorm2d(planes, eps: c.bnEps)]
        case .bottleneck:
            isBottleneck = true
            let width = planes * c.widthPerGroup / 64 * c.groups
            convs = [Conv2d(inplanes, width, kernelSize: 1, stride: s1, bias: keras),
                     Conv2d(width, width, kernelSize: 3, stride: s2, padding: 1, groups: c.groups, bias: keras),
                     Conv2d(width, out, kernelSize: 1, bias: keras)]
            norms = [BatchNorm2d(width, eps: c.bnEps), BatchNorm2d(width, eps: c.bnEps), BatchNorm2d(out, eps: c.bnEps)]
        }
        // Keras gives every stage's first block a projection shortcut, whatever the shapes.
        if keras ? first : (stride != 1 || inplanes != out) {
            downsample = Sequential(Conv2d(inplanes, out, kernelSize: 1, stride: stride, bias: keras), BatchNorm2d(out, eps: c.bnEps))
        } else {
            downsample = nil
        }
    }

    public override var typeName: String { isBottleneck ? "Bottleneck" : "BasicBlock" }

    public override var namedChildren: [(name: String, module: Module)] {
        var out: [(name: String, module: Module)] = []
        for i in convs.indices { out += [("conv\(i + 1)", convs[i]), ("bn\(i + 1)", norms[i])] }
        out.append(("relu", relu))
        if let downsample { out.append(("downsample", downsample)) }
        return out
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let shortcut = try downsample?(x) ?? x
        let last = convs.count - 1
        if convs.allSatisfy(\.fusable) && norms.allSatisfy({ $0.fusable && !$0.normalizesWithBatch }) && relu.fusable {
            // Inference: each conv with its BatchNorm folded and ReLU fused; the last adds the
            // shortcut and applies the ReLU in its epilogue.
            var h = x
            for i in 0..<last { h = try convs[i].fused(h, norm: norms[i], activation: .relu) }
            return try convs[last].fused(h, norm: norms[last], activation: .relu, residual: shortcut)
        }
        var h = x
        for i in 0..<last { h = try norms[i].forwardReLU(try convs[i](h), after: relu) }
        var out = try norms[last](try convs[last](h))
        try addInPlace(&out, shortcut, activation: .relu)
        if let observer = relu.outputObserver { observer(out) }
        savedOutput = recordsForBackward ? out : nil
        return out
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let y = savedOutput else { throw NNError.noRecordedForward(typeName) }
        savedOutput = nil
        let d = try activationBackward(.relu, gradOutput: gradOutput, output: y)
        var dMain: Tensor? = d
        for i in convs.indices.reversed() {
            guard let g = dMain, convs[i].recordsForBackward || norms[i].recordsForBackward else { dMain = nil; break }
            // Inside the main path the ReLU after each BatchNorm but the last went back through it (forwardReLU).
            guard let dz = try norms[i].backward(g) else { dMain = nil; break }
            dMain = try convs[i].backward(dz)
        }
        let dShort: Tensor? = downsample == nil ? d : (downsample!.recordsForBackward ? try downsample!.backward(d) : nil)
        guard needsInputGradient, dMain != nil, dShort != nil else { return nil }
        return try sumOfGradients(&dMain, dShort)
    }

    /// Both paths start from the block's input; inside the main path the layers run in order.
    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        var before = trainableBefore
        for i in convs.indices {
            before = convs[i].prepareBackward(trainableBefore: before)
            before = norms[i].prepareBackward(trainableBefore: before)
        }
        relu.needsInputGradient = before
        relu.recordsForBackward = before
        let b = downsample?.prepareBackward(trainableBefore: trainableBefore) ?? trainableBefore
        recordsForBackward = before || b
        return before || b
    }
}
