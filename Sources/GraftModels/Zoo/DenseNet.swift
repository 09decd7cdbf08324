// DenseNet-BC as torchvision builds it (torchvision/models/densenet.py): "Densely Connected
// Convolutional Networks", Huang et al. 2016, https://arxiv.org/abs/1608.06993. Every dense layer reads
// the concatenation of its block's input and all earlier layers' outputs through a pre-activation
// bottleneck (BN → ReLU → 1×1 conv → BN → ReLU → 3×3 conv) and adds `growthRate` channels.
//
// The block keeps one feature buffer for all its channels: each layer's new features are written once
// into their slot, and a layer reads its input as the buffer's leading channels. Nothing is
// concatenated again and again. In training a layer keeps only its bottleneck's BatchNorm statistics
// and 4·k-channel activations; its normalized input is recomputed from the block's final buffer in
// backward (what torchvision's `memory_efficient` trades for, without its cost on the rest).

import GraftNN
import GraftTensor

/// torchvision's `DenseNet`: children `features` (a Sequential: `conv0`, `norm0`, `relu0`, `pool0`,
/// `denseblock1`, `transition1`, …, `denseblock4`, `norm5`) and `classifier` (Linear). The forward
/// applies ReLU, a global average pool and the classifier after `features`.
public final class DenseNet: FeatureHeadNetwork {
    public let config: DenseNetConfig
    public let features: Sequential
    public private(set) var classifier: Linear
    /// relu(features(x)), kept for backward when anything before the head trains.
    private var savedActivation: Tensor?

    public init(_ c: DenseNetConfig) {
        config = c
        let init0 = c.numInitFeatures
        let features = Sequential(named: [
            "conv0": Conv2d(3, init0, kernelSize: 7, stride: 2, padding: 3, bias: false),
            "norm0": BatchNorm2d(init0),
            "relu0": ReLU(),
            "pool0": MaxPool2d(kernelSize: 3, stride: 2, padding: 1),
        ])
        var channels = init0
        for (i, layers) in c.blockConfig.enumerated() {
            features.append(DenseBlock(layers: layers, inputChannels: channels, growthRate: c.growthRate, bnSize: c.bnSize,
                                       dropRate: c.dropRate), name: "denseblock\(i + 1)")
            channels += layers * c.growthRate
            if i != c.blockConfig.count - 1 {
                features.append(DenseTransition(channels, channels / 2), name: "transition\(i + 1)")
                channels /= 2
            }
        }
        features.append(BatchNorm2d(channels), name: "norm5")
        self.features = features
        classifier = Linear(channels, c.numClasses)
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("features", features), ("classifier", classifier)]
    }

    public override func setChild(_ name: String, _ module: Module) throws {
        guard name == "classifier", let linear = module as? Linear else { throw NNError.cannotReplace(parent: typeName, child: name) }
        classifier = linear
    }

    public override var classifierPath: String { "classifier" }

    public override func forwardFeatures(_ x: Tensor) throws -> Tensor {
        let a = activation(try features(x), .relu)
        savedActivation = features.recordsForBackward ? a : nil
        let pooled = try globalAvgPool(a)
        return try pooled.reshaped([pooled.shape[0], pooled.shape[1]])
    }

    public override func forwardHead(_ f: Tensor) throws -> Tensor { try classifier(f) }
    public override func backwardHead(_ g: Tensor) throws -> Tensor? { try classifier.backward(g) }

    public override func backwardFeatures(_ g: Tensor) throws -> Tensor? {
        guard features.recordsForBackward, let a = savedActivation else { return nil }
        savedActivation = nil
        let d = try globalAvgPoolBackward(gradOutput: g, inputShape: a.shape)
        return try features.backward(try activationBackward(.relu, gradOutput: d, output: a))
    }
}

/// torchvision's `_DenseBlock`: children `denselayer1` … `denselayerN`; the output is the block's
/// input followed by every layer's new features (`torch.cat(features, 1)`).
public final class DenseBlock: Module {
    public let layers: [DenseLayer]
    public let inputChannels: Int
    public let growthRate: Int
    /// The complete output, which holds every layer's input as its leading channels.
    private var savedBuffer: Tensor?

    public init(layers count: Int, inputChannels: Int, growthRate: Int, bnSize: Int, dropRate: Float = 0) {
        self.inputChannels = inputChannels
        self.growthRate = growthRate
        layers = (0..<count).map {
            DenseLayer(inputChannels: inputChannels + $0 * growthRate, growthRate: growthRate, bnSize: bnSize, dropRate: dropRate)
        }
    }

    public override var typeName: String { "_DenseBlock" }

    public override var namedChildren: [(name: String, module: Module)] {
        layers.enumerated().map { ("denselayer\($0.offset + 1)", $0.element) }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == inputChannels else {
            throw NNError.badArgument("_DenseBlock: expected [N, \(inputChannels), H, W], got \(x.shape)")
        }
        savedBuffer = nil
        var buffer = try Tensor(uninitializedShape: [x.shape[0], inputChannels + layers.count * growthRate, x.shape[2], x.shape[3]])
        try writeChannels(&buffer, x, at: 0)
        var channels = inputChannels
        for layer in layers {
            // The layer reads the buffer and keeps no reference to it, so the write below is in place.
            let new = try layer.newFeatures(from: buffer, channels: channels)
            if let observer = layer.outputObserver { observer(new) }
            try writeChannels(&buffer, new, at: channels)
            channels += growthRate
        }
        if recordsForBackward { savedBuffer = buffer }
        return buffer
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let buffer = savedBuffer else { throw NNError.noRecordedForward(typeName) }
        savedBuffer = nil
        // ∂L/∂buffer; each layer's input gradient is added into the leading channels, so a slot's
        // gradient is complete once every later layer has run backward.
        var g = gradOutput
        var channels = buffer.shape[1]
        for layer in layers.reversed() {
            channels -= growthRate
            guard layer.recordsForBackward else { break }
            let slot = try sliceChannels(g, channels..<(channels + growthRate))
            guard let dx = try layer.backward(slot, source: buffer, channels: channels) else { break }
            try addChannels(&g, dx, at: 0)
        }
        guard needsInputGradient else { return nil }
        return try sliceChannels(g, 0..<inputChannels)
    }
}

/// torchvision's `_DenseLayer`: `norm1`, `relu1`, `conv1` (1×1 to `bnSize · growthRate`), `norm2`,
/// `relu2`, `conv2` (3×3 to `growthRate`), then dropout at `dropRate` in training. Its output is the new
/// features only.
///
/// At inference the first BatchNorm and ReLU run as one pass over the leading channels of the
/// block's buffer, and `conv1 → norm2 → relu2` as one convolution with the BatchNorm folded.
public final class DenseLayer: Module, RandomizedModule {
    public let norm1: BatchNorm2d
    public let relu1 = ReLU()
    public let conv1: Conv2d
    public let norm2: BatchNorm2d
    public let relu2 = ReLU()
    public let conv2: Conv2d
    public var dropRate: Float
    public var random = RandomSource(seed: 0)

    /// What backward needs beyond the children's own records: the first BatchNorm's batch statistics
    /// (nil when it used its running ones), the input's width and the dropout mask.
    private var saved: (statistics: BatchNormStatistics?, channels: Int, mask: Tensor?)?
    /// The input, when the layer runs on its own rather than inside a block.
    private var savedInput: Tensor?

    public init(inputChannels: Int, growthRate: Int, bnSize: Int, dropRate: Float = 0) {
        norm1 = BatchNorm2d(inputChannels)
        conv1 = Conv2d(inputChannels, bnSize * growthRate, kernelSize: 1, bias: false)
        norm2 = BatchNorm2d(bnSize * growthRate)
        conv2 = Conv2d(bnSize * growthRate, growthRate, kernelSize: 3, padding: 1, bias: false)
        self.dropRate = dropRate
    }

    public override var typeName: String { "_DenseLayer" }

    public override var namedChildren: [(name: String, module: Module)] {
        [("norm1", norm1), ("relu1", relu1), ("conv1", conv1), ("norm2", norm2), ("relu2", relu2), ("conv2", conv2)]
    }

    /// On its own, the layer reads all of `x` (the concatenated earlier features).
    public override func forward(_ x: Tensor) throws -> Tensor {
        let out = try newFeatures(from: x, channels: x.shape[1])
        savedInput = recordsForBackward ? x : nil
        return out
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let x = savedInput else { throw NNError.noRecordedForward(typeName) }
        savedInput = nil
        return try backward(gradOutput, source: x, channels: x.shape[1])
    }

    /// The new features computed from the first `channels` channels of `source` (a block's buffer).
    /// Keeps no reference to `source`.
    public func newFeatures(from source: Tensor, channels c: Int) throws -> Tensor {
        saved = nil
        let kids = namedChildren.map(\.module)
        if !recordsForBackward && kids.allSatisfy(\.fusable) && !norm1.normalizesWithBatch && !norm2.normalizesWithBatch {
            let (scale, shift) = try norm1.scaleShift()
            let a1 = try batchNormInference(source, channels: 0..<c, scale: scale, shift: shift, activation: .relu)
            let h = try conv1.fused(a1, norm: norm2, activation: .relu)
            return try dropped(try conv2.fused(h, norm: nil, activation: .none)).output
        }
        let input = c == source.shape[1] ? source : try sliceChannels(source, 0..<c)
        guard recordsForBackward else {
            // Observed modules, or training with nothing to record: every child runs as itself.
            return try dropped(try conv2(try relu2(try norm2(try conv1(try relu1(try norm1(input))))))).output
        }
        var statistics: BatchNormStatistics?
        var a1: Tensor
        if norm1.normalizesWithBatch {
            (a1, statistics) = try normalizeWithBatch(input)
            activateInPlace(&a1, .relu)
        } else {
            let (scale, shift) = try norm1.scaleShift()
            a1 = try batchNormInference(input, scale: scale, shift: shift, activation: .relu)
        }
        // conv1's input is recomputed in backward, so it runs as a kernel and keeps nothing.
        let h = try conv2d(a1, weight: conv1.weight.value, bias: conv1.bias?.value, params: conv1.geometry(for: a1))
        let (out, mask) = try dropped(try conv2(try relu2(try norm2(h))))
        saved = (statistics, c, mask)
        return out
    }

    /// ∂L/∂(the first `channels` channels of `source`) from ∂L/∂(new features); `source` holds the
    /// same values as in the forward pass (the block's final buffer does).
    public func backward(_ gradOutput: Tensor, source: Tensor, channels c: Int) throws -> Tensor? {
        guard let s = saved, s.channels == c else { throw NNError.noRecordedForward(typeName) }
        saved = nil
        var d = try dropoutBackward(gradOutput: gradOutput, mask: s.mask)
        for m in [conv2, relu2, norm2] as [Module] {
            guard m.recordsForBackward, let next = try m.backward(d) else { return nil }
            d = next
        }
        guard conv1.recordsForBackward else { return nil }
        let trainsNorm1 = norm1.weight.requiresGrad || norm1.bias.requiresGrad
        let wantsInput = conv1.needsInputGradient
        let input = c == source.shape[1] ? source : try sliceChannels(source, 0..<c)
        // relu1(norm1(input)) again, with the statistics of the forward pass.
        let scale: Tensor, shift: Tensor
        if let st = s.statistics {
            (scale, shift) = try batchStatisticsAffine(st)
        } else {
            (scale, shift) = try norm1.scaleShift()
        }
        let a1 = try batchNormInference(input, scale: scale, shift: shift, activation: .relu)
        let g = try conv2dBackward(x: a1, weight: conv1.weight.value, gradOutput: d, params: conv1.geometry(for: a1),
                                   inputGradient: wantsInput)
        try conv1.weight.accumulate(g.weight)
        guard let da1 = g.input, trainsNorm1 || needsInputGradient else { return nil }
        let dy1 = try activationBackward(.relu, gradOutput: da1, output: a1)
        guard let st = s.statistics else {
            // Running statistics: norm1 is a pure affine map, so it can run again to record itself.
            let records = norm1.recordsForBackward
            norm1.recordsForBackward = true
            defer { norm1.recordsForBackward = records }
            _ = try norm1.forward(input)
            return try norm1.backward(dy1)
        }
        let r = try batchNormBackward(x: input, gradOutput: dy1, gamma: norm1.weight.value, statistics: st)
        try norm1.weight.accumulate(r.gamma)
        try norm1.bias.accumulate(r.beta)
        return needsInputGradient ? r.input : nil
    }

    /// norm1 in training mode: batch statistics, and the running ones updated as BatchNorm2d does.
    private func normalizeWithBatch(_ x: Tensor) throws -> (Tensor, BatchNormStatistics) {
        let (y, stats) = try batchNormTraining(x, gamma: norm1.weight.value, beta: norm1.bias.value, eps: norm1.eps)
        let m = norm1.momentum
        norm1.runningMean.value = try add(scaled(norm1.runningMean.value, by: 1 - m), scaled(stats.mean, by: m))
        norm1.runningVar.value = try add(scaled(norm1.runningVar.value, by: 1 - m), scaled(stats.unbiasedVariance, by: m))
        norm1.batchesTracked.value += 1
        return (y, stats)
    }

    /// The affine map the batch statistics normalized with: γ·invStd and β − mean·γ·invStd.
    private func batchStatisticsAffine(_ st: BatchNormStatistics) throws -> (Tensor, Tensor) {
        let g = norm1.weight.value.values, b = norm1.bias.value.values, mu = st.mean.values, inv = st.invStd.values
        var scale = [Float](repeating: 0, count: g.count), shift = scale
        for i in g.indices {
            let k = Double(g[i]) * Double(inv[i])
            scale[i] = Float(k)
            shift[i] = Float(Double(b[i]) - Double(mu[i]) * k)
        }
        return (try Tensor(shape: [g.count], values: scale), try Tensor(shape: [g.count], values: shift))
    }

    /// `F.dropout(x, dropRate, training)` and its mask.
    private func dropped(_ x: Tensor) throws -> (output: Tensor, mask: Tensor?) {
        guard isTraining && dropRate > 0 else { return (x, nil) }
        return try dropout(x, probability: dropRate, training: true, generator: &random.generator)
    }
}

/// torchvision's `_Transition`: `norm`, `relu`, `conv` (1×1, halving the channels), `pool` (2×2
/// average, stride 2).
///
/// A 1×1 convolution without bias commutes with average pooling, so the pool runs first and the
/// convolution sees a quarter of the positions (torchvision's order only when a child is observed).
/// At inference BatchNorm and ReLU are one pass.
public final class DenseTransition: Module {
    public let norm: BatchNorm2d
    public let relu = ReLU()
    public let conv: Conv2d
    public let pool = AvgPool2d(kernelSize: 2, stride: 2)

    public init(_ inputChannels: Int, _ outputChannels: Int) {
        norm = BatchNorm2d(inputChannels)
        conv = Conv2d(inputChannels, outputChannels, kernelSize: 1, bias: false)
    }

    public override var typeName: String { "_Transition" }

    public override var namedChildren: [(name: String, module: Module)] {
        [("norm", norm), ("relu", relu), ("conv", conv), ("pool", pool)]
    }

    /// The order the children run in (and record for backward).
    private var executionOrder: [Module] { [norm, relu, pool, conv] }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let kids = namedChildren.map(\.module)
        if kids.allSatisfy(\.fusable) && !norm.normalizesWithBatch {
            let (scale, shift) = try norm.scaleShift()
            let a = try batchNormInference(x, scale: scale, shift: shift, activation: .relu)
            return try conv.fused(try avgPool2d(a, pool.params), norm: nil, activation: .none)
        }
        if kids.contains(where: { $0.outputObserver != nil }) {
            return try pool(try conv(try relu(try norm(x))))
        }
        var h = x
        for m in executionOrder { h = try m(h) }
        return h
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        var d = gradOutput
        for m in executionOrder.reversed() {
            guard m.recordsForBackward, let next = try m.backward(d) else { return nil }
            d = next
        }
        return needsInputGradient ? d : nil
    }

    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        var before = trainableBefore
        for m in executionOrder { before = m.prepareBackward(trainableBefore: before) }
        recordsForBackward = before
        return before
    }
}
