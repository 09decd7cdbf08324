import Graft

/// The course's building block, as the PyTorch class names it: `conv` (no bias), `bn`, `relu`,
/// `shortcut` (Identity, or a projection `Sequential(Conv2d 1×1, BatchNorm2d)` when a residual block
/// changes width or stride). Forward: `relu(bn(conv(x)) [+ shortcut(x)])`.
///
/// A module whose forward is not a plain chain writes its backward beside it: the chain rule of the
/// forward, in reverse, each child's `backward` returning the gradient of its input.
public final class ConvBlock: Module {
    public let conv: Conv2d
    public let bn: BatchNorm2d
    public let relu = ReLU()
    public let shortcut: Module
    public let residual: Bool

    public init(_ cin: Int, _ cout: Int, kernel: Int = 3, stride: Int = 1, residual: Bool = false) {
        conv = Conv2d(cin, cout, kernelSize: kernel, stride: stride, padding: kernel / 2, bias: false)
        bn = BatchNorm2d(cout)
        self.residual = residual
        shortcut = residual && (cin != cout || stride != 1)
            ? Sequential(Conv2d(cin, cout, kernelSize: 1, stride: stride, bias: false), BatchNorm2d(cout)) : Identity()
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("conv", conv), ("bn", bn), ("relu", relu), ("shortcut", shortcut)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        var out = try bn(conv(x))
        if residual { out = try add(out, try shortcut(x)) }
        return try relu(out)
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let g = try relu.backward(gradOutput) else { return nil }
        let dx = try bn.backward(g).flatMap { try conv.backward($0) }
        guard residual, needsInputGradient, let dMain = dx, let dSkip = try shortcut.backward(g) else { return dx }
        return try add(dMain, dSkip)
    }

    /// Both paths start from the block's input.
    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        var before = conv.prepareBackward(trainableBefore: trainableBefore)
        before = bn.prepareBackward(trainableBefore: before)
        let skip = shortcut.prepareBackward(trainableBefore: trainableBefore)
        let any = before || (residual && skip)
        _ = relu.prepareBackward(trainableBefore: any)
        recordsForBackward = any
        return any
    }
}

/// SimpleCNN: `stem`, `block1`…`block3` (Sequentials of ConvBlocks), `global_pool`, `dropout`, `fc`.
/// Any input size; 32×32 in the course.
public final class SimpleCNN: Module {
    public let stem: ConvBlock
    public let blocks: Sequential
    public let globalPool = AdaptiveAvgPool2d(1)
    public let dropout = Dropout(0.5)
    public let fc: Linear
    private var pooledShape: [Int]?

    public init(numClasses: Int = 10, inChannels: Int = 3) {
        stem = ConvBlock(inChannels, 32)
        blocks = Sequential(named: [
            "block1": Sequential(ConvBlock(32, 64, stride: 2), ConvBlock(64, 64, residual: true)),
            "block2": Sequential(ConvBlock(64, 128, stride: 2), ConvBlock(128, 128, residual: true), ConvBlock(128, 128, residual: true)),
            "block3": Sequential(ConvBlock(128, 256, stride: 2), ConvBlock(256, 256, residual: true), ConvBlock(256, 256, residual: true)),
        ])
        fc = Linear(256, numClasses)
    }

    /// The stages sit directly under the root, as in the PyTorch class (`block1.0.conv.weight`).
    public override var namedChildren: [(name: String, module: Module)] {
        [("stem", stem)] + blocks.namedChildren + [("global_pool", globalPool), ("dropout", dropout), ("fc", fc)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let pooled = try globalPool(try blocks(try stem(x)))
        pooledShape = pooled.shape
        return try fc(try dropout(try pooled.reshaped([pooled.shape[0], pooled.shape[1]])))
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let shape = pooledShape, let dFeatures = try fc.backward(gradOutput), dropout.needsInputGradient,
              let dDrop = try dropout.backward(dFeatures), let dPooled = try globalPool.backward(try dDrop.reshaped(shape)),
              let dBlocks = try blocks.backward(dPooled) else { return nil }
        return try stem.backward(dBlocks)
    }

    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        var before = stem.prepareBackward(trainableBefore: trainableBefore)
        before = blocks.prepareBackward(trainableBefore: before)
        for m in [globalPool, dropout, fc] as [Module] { before = m.prepareBackward(trainableBefore: before) }
        recordsForBackward = before
        return before
    }
}
