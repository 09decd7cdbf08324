// ShuffleNet V2 as torchvision builds it (torchvision/models/shufflenetv2.py): "ShuffleNet V2: Practical
// Guidelines for Efficient CNN Architecture Design", Ma et al. 2018, https://arxiv.org/abs/1807.11164.
// Each block splits its channels in two (or, when it downsamples, feeds the input to two branches),
// concatenates the halves and shuffles the channels with groups 2; the concatenation and the shuffle
// are one pass here, and the untouched half is read straight from the input.

import GraftNN
import GraftTensor

/// torchvision's `ShuffleNetV2`: children `conv1` (Sequential conv, BN, ReLU), `maxpool`, `stage2`,
/// `stage3`, `stage4` (Sequentials of `InvertedResidual`), `conv5` (Sequential 1×1 conv, BN, ReLU) and
/// `fc`. The global pool is a mean over the spatial positions (no module).
public final class ShuffleNetV2: FeatureHeadNetwork {
    public let config: ShuffleNetV2Config
    public let conv1: Sequential
    public let maxpool = MaxPool2d(kernelSize: 3, stride: 2, padding: 1)
    public let stages: [Sequential]
    public let conv5: Sequential
    public private(set) var fc: Linear
    private var pooledInputShape: [Int]?

    public init(_ c: ShuffleNetV2Config) {
        precondition(c.stagesRepeats.count == 3 && c.stagesOutChannels.count == 5,
                     "ShuffleNetV2: 3 stage repeats and 5 output channel counts")
        config = c
        var channels = c.stagesOutChannels[0]
        conv1 = convNormActivation(3, channels, kernelSize: 3, stride: 2, padding: 1)
        var stages: [Sequential] = []
        for (repeats, out) in zip(c.stagesRepeats, c.stagesOutChannels[1...4]) {
            var blocks: [Module] = [ShuffleInvertedResidual(channels, out, stride: 2)]
            for _ in 1..<max(repeats, 1) { blocks.append(ShuffleInvertedResidual(out, out, stride: 1)) }
            stages.append(Sequential(blocks))
            channels = out
        }
        self.stages = stages
        conv5 = convNormActivation(channels, c.stagesOutChannels[4], kernelSize: 1)
        fc = Linear(c.stagesOutChannels[4], c.numClasses)
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("conv1", conv1), ("maxpool", maxpool)] + stages.enumerated().map { ("stage\($0.offset + 2)", $0.element) }
            + [("conv5", conv5), ("fc", fc)]
    }

    public override func setChild(_ name: String, _ module: Module) throws {
        guard name == "fc", let linear = module as? Linear else { throw NNError.cannotReplace(parent: typeName, child: name) }
        fc = linear
    }

    public override var classifierPath: String { "fc" }

    public override func forwardFeatures(_ x: Tensor) throws -> Tensor {
        var h = try maxpool(try conv1(x))
        for stage in stages { h = try stage(h) }
        h = try conv5(h)
        pooledInputShape = h.shape
        let pooled = try globalAvgPool(h)
        return try pooled.reshaped([pooled.shape[0], pooled.shape[1]])
    }

    public override func forwardHead(_ f: Tensor) throws -> Tensor { try fc(f) }
    public override func backwardHead(_ g: Tensor) throws -> Tensor? { try fc.backward(g) }

    public override func backwardFeatures(_ g: Tensor) throws -> Tensor? {
        guard let shape = pooledInputShape, conv5.recordsForBackward else { return nil }
        guard var d = try conv5.backward(try globalAvgPoolBackward(gradOutput: g, inputShape: shape)) else { return nil }
        for stage in stages.reversed() {
            guard stage.recordsForBackward, let next = try stage.backward(d) else { return nil }
            d = next
        }
        guard maxpool.recordsForBackward, let dPool = try maxpool.backward(d), conv1.recordsForBackward else { return nil }
        return try conv1.backward(dPool)
    }
}

/// torchvision's ShuffleNet V2 `InvertedResidual`: children `branch1` and `branch2` (Sequentials).
///
/// Stride 1: the input's first half passes through, the second goes through `branch2` (1×1 conv, BN,
/// ReLU, 3×3 depthwise, BN, 1×1 conv, BN, ReLU); `branch1` is empty. Stride > 1: `branch1` (3×3
/// depthwise with the stride, BN, 1×1 conv, BN, ReLU) and `branch2` both read the whole input. The
/// two halves are concatenated and shuffled with groups 2.
public final class ShuffleInvertedResidual: Module {
    public let stride: Int
    public let branch1: Sequential
    public let branch2: Sequential
    /// Channels of the two concatenated halves in the last forward.
    private var sizes: (Int, Int)?

    public init(_ inputChannels: Int, _ outputChannels: Int, stride: Int) {
        precondition((1...3).contains(stride), "InvertedResidual: illegal stride value")
        let branch = outputChannels / 2
        precondition(stride > 1 || inputChannels == branch * 2, "InvertedResidual: stride 1 needs input = 2 · (output / 2)")
        self.stride = stride
        func depthwise(_ c: Int) -> Conv2d { Conv2d(c, c, kernelSize: 3, stride: stride, padding: 1, groups: c, bias: false) }
        if stride > 1 {
            branch1 = Sequential(depthwise(inputChannels), BatchNorm2d(inputChannels),
                                 Conv2d(inputChannels, branch, kernelSize: 1, bias: false), BatchNorm2d(branch), ReLU())
        } else {
            branch1 = Sequential([])
        }
        branch2 = Sequential(Conv2d(stride > 1 ? inputChannels : branch, branch, kernelSize: 1, bias: false), BatchNorm2d(branch),
                             ReLU(), depthwise(branch), BatchNorm2d(branch),
                             Conv2d(branch, branch, kernelSize: 1, bias: false), BatchNorm2d(branch), ReLU())
    }

    public override var typeName: String { "InvertedResidual" }

    public override var namedChildren: [(name: String, module: Module)] { [("branch1", branch1), ("branch2", branch2)] }

    public override func forward(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4 else { throw NNError.badArgument("InvertedResidual: expected [N, C, H, W], got \(x.shape)") }
        if stride == 1 {
            let c = x.shape[1], half = c / 2
            let b2 = try branch2(try sliceChannels(x, half..<c))
            sizes = (half, b2.shape[1])
            return try shuffleConcatChannels([(x, 0..<half), (b2, 0..<b2.shape[1])], groups: 2)
        }
        let b1 = try branch1(x), b2 = try branch2(x)
        sizes = (b1.shape[1], b2.shape[1])
        return try shuffleConcatChannels([(b1, 0..<b1.shape[1]), (b2, 0..<b2.shape[1])], groups: 2)
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let (s1, s2) = sizes else { throw NNError.noRecordedForward(typeName) }
        let parts = try shuffleConcatChannelsBackward(gradOutput, sizes: [s1, s2], groups: 2)
        let d2 = branch2.recordsForBackward ? try branch2.backward(parts[1]) : nil
        if stride == 1 {
            guard needsInputGradient else { return nil }
            let rest = try d2 ?? Tensor(shape: [parts[1].shape[0], s1] + parts[1].shape.dropFirst(2))
            return try concatChannels([parts[0], rest])
        }
        var d1 = branch1.recordsForBackward ? try branch1.backward(parts[0]) : nil
        guard needsInputGradient else { return nil }
        return try sumOfGradients(&d1, d2)
    }

    /// Both branches start from the block's input.
    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        let a = branch1.prepareBackward(trainableBefore: trainableBefore)
        let b = branch2.prepareBackward(trainableBefore: trainableBefore)
        recordsForBackward = a || b
        return a || b
    }
}
