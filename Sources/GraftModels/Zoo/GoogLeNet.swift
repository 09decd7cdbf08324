// GoogLeNet (Inception v1) as torchvision builds it (torchvision/models/googlenet.py): "Going Deeper with
// Convolutions", Szegedy et al. 2014, https://arxiv.org/abs/1409.4842, with BatchNorm after every
// convolution and torchvision's 3×3 in place of the paper's 5×5 in branch3 (its weights were ported so).

import GraftNN
import GraftTensor

/// torchvision's `GoogLeNet`: children `conv1`, `maxpool1`, `conv2`, `conv3`, `maxpool2`, `inception3a`,
/// `inception3b`, `maxpool3`, `inception4a`…`inception4e`, `maxpool4`, `inception5a`, `inception5b`[,
/// `aux1`, `aux2`], `avgpool`, `dropout`, `fc`.
///
/// - `transform_input` (`config.transformInput`, on as torchvision's pretrained weights build the model)
///   re-normalizes the ImageNet-normalized input inside the model.
/// - The auxiliary heads are in the tree, so torchvision's pretrained checkpoint (which has their keys)
///   loads strictly and they can be frozen or dropped by path; the forward never runs them — torchvision
///   returns their logits only in training with `aux_logits=True` — so they get no gradient and their
///   BatchNorm statistics do not move. `auxOutputs(_:)` runs them on demand (evaluation mode).
/// - The split at the features: `forwardFeatures` is the pooled, flattened 1024-wide output of
///   `avgpool`; the head is `dropout` → `fc` (classifier path `fc`).
public final class GoogLeNet: FeatureHeadNetwork {
    public let config: GoogLeNetConfig
    public let conv1: BasicConv2d
    public let maxpool1 = MaxPool2d(kernelSize: 3, stride: 2, ceilMode: true)
    public let conv2: BasicConv2d
    public let conv3: BasicConv2d
    public let maxpool2 = MaxPool2d(kernelSize: 3, stride: 2, ceilMode: true)
    /// The Inception blocks of stages 3, 4 and 5.
    public let stages: [[GoogLeNetInception]]
    public let maxpool3 = MaxPool2d(kernelSize: 3, stride: 2, ceilMode: true)
    public let maxpool4 = MaxPool2d(kernelSize: 2, stride: 2, ceilMode: true)
    public let aux1: GoogLeNetAux?
    public let aux2: GoogLeNetAux?
    public let avgpool = AdaptiveAvgPool2d(1)
    public let dropout: Dropout
    public private(set) var fc: Linear
    let transform = InputTransform()
    private var pooledShape: [Int]?

    static let letters = Array("abcdefghijklmnopqrstuvwxyz").map(String.init)

    public init(_ c: GoogLeNetConfig) {
        config = c
        let eps = c.bnEps
        conv1 = BasicConv2d(3, c.conv1, kernelSize: 7, stride: 2, padding: 3, eps: eps)
        conv2 = BasicConv2d(c.conv1, c.conv2, kernelSize: 1, eps: eps)
        conv3 = BasicConv2d(c.conv2, c.conv3, kernelSize: 3, padding: 1, eps: eps)
        var channels = c.conv3
        var stages: [[GoogLeNetInception]] = []
        var auxInputs: [Int] = []
        for (s, blocks) in [c.inception3, c.inception4, c.inception5].enumerated() {
            var made: [GoogLeNetInception] = []
            for b in blocks {
                made.append(GoogLeNetInception(channels, b, branch3Kernel: c.branch3Kernel, eps: eps))
                channels = b.outChannels
            }
            if s == 1 {
                // aux1 reads inception4a's output, aux2 inception4d's (or the last block up to there).
                auxInputs = Self.auxTaps(blocks: blocks.count).map { blocks[$0].outChannels }
            }
            stages.append(made)
        }
        self.stages = stages
        if c.auxLogits {
            aux1 = GoogLeNetAux(auxInputs[0], c)
            aux2 = GoogLeNetAux(auxInputs[1], c)
        } else {
            aux1 = nil
            aux2 = nil
        }
        dropout = Dropout(c.dropout)
        fc = Linear(channels, c.numClasses)
    }

    /// Indices into stage 4 of the blocks whose outputs feed aux1 and aux2: torchvision taps after 4a
    /// and 4d; a shorter stage (a miniature, where torchvision's missing blocks are identities) taps
    /// the last block present up to there.
    static func auxTaps(blocks: Int) -> [Int] { [0, min(3, blocks - 1)] }

    /// The module paths whose outputs feed aux1 and aux2.
    public var auxInputPaths: [String] {
        Self.auxTaps(blocks: stages[1].count).map { "inception4\(Self.letters[$0])" }
    }

    private var named: [(name: String, module: Module)] {
        var out: [(name: String, module: Module)] = [("conv1", conv1), ("maxpool1", maxpool1), ("conv2", conv2),
                                                     ("conv3", conv3), ("maxpool2", maxpool2)]
        for (s, blocks) in stages.enumerated() {
            out += blocks.enumerated().map { ("inception\(s + 3)\(Self.letters[$0.offset])", $0.element as Module) }
            if s == 0 { out.append(("maxpool3", maxpool3)) }
            if s == 1 { out.append(("maxpool4", maxpool4)) }
        }
        return out
    }

    /// Everything the forward runs before `avgpool`, in order.
    private var trunk: [Module] { named.map(\.module) }

    public override var namedChildren: [(name: String, module: Module)] {
        named + (aux1.map { [("aux1", $0 as Module)] } ?? []) + (aux2.map { [("aux2", $0 as Module)] } ?? [])
            + [("avgpool", avgpool), ("dropout", dropout), ("fc", fc)]
    }

    public override func setChild(_ name: String, _ module: Module) throws {
        guard name == "fc", let linear = module as? Linear else { throw NNError.cannotReplace(parent: typeName, child: name) }
        fc = linear
    }

    public override var classifierPath: String { "fc" }

    /// The modules after the features: torchvision's `dropout` and `fc` are siblings, so the head is two
    /// paths (`headPath` names the classifier only).
    public override var headModulePaths: [String] { ["dropout", "fc"] }

    /// The subtrees the forward never runs (neither body nor head).
    public override var auxiliaryPaths: [String] { [aux1, aux2].compactMap { $0 }.isEmpty ? [] : ["aux1", "aux2"] }

    public override func forwardFeatures(_ x: Tensor) throws -> Tensor {
        let input = config.transformInput ? try transform.forward(x) : x
        let pooled = try avgpool(try Chain.forward(trunk, input))
        pooledShape = pooled.shape
        return try pooled.reshaped([pooled.shape[0], pooled.shape[1]])
    }

    public override func forwardHead(_ features: Tensor) throws -> Tensor { try fc(try dropout(features)) }

    public override func backwardHead(_ gradOutput: Tensor) throws -> Tensor? {
        guard let g = try fc.backward(gradOutput) else { return nil }
        return try dropout.backward(g)
    }

    public override func backwardFeatures(_ g: Tensor) throws -> Tensor? {
        guard let shape = pooledShape, avgpool.recordsForBackward,
              let d = try avgpool.backward(try g.reshaped(shape)), let dx = try Chain.backward(trunk, d) else { return nil }
        return config.transformInput ? try transform.backward(dx) : dx
    }

    /// The trunk in order, then the head; the auxiliary heads, which the forward never runs, record nothing.
    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        var before = Chain.prepare(trunk, trainableBefore: trainableBefore)
        for aux in [aux1, aux2].compactMap({ $0 }) { Chain.exclude(aux) }
        before = Chain.prepare([avgpool, dropout, fc], trainableBefore: before)
        recordsForBackward = before
        return before
    }

    /// The auxiliary heads' logits in evaluation mode (`[aux1, aux2]`), as torchvision computes them in
    /// training: aux1 on inception4a's output, aux2 on inception4d's.
    public func auxOutputs(_ x: Tensor) throws -> [Tensor] {
        guard let aux1, let aux2 else { return [] }
        let taps = auxInputPaths
        let outs = try intermediates(x, at: taps)
        return [try aux1(outs[taps[0]]!), try aux2(outs[taps[1]]!)]
    }
}

/// torchvision's GoogLeNet `Inception` block: `branch1` (BasicConv2d 1×1), `branch2` (Sequential: 1×1,
/// 3×3), `branch3` (Sequential: 1×1, k×k), `branch4` (Sequential: MaxPool2d 3×3 stride 1 padding 1
/// ceil mode, 1×1), outputs concatenated along channels.
public final class GoogLeNetInception: Module {
    public let branch1: BasicConv2d
    public let branch2: Sequential
    public let branch3: Sequential
    public let branch4: Sequential
    private var sizes: [Int]?

    public init(_ inChannels: Int, _ b: GoogLeNetConfig.Block, branch3Kernel: Int = 3, eps: Float = 0.001) {
        branch1 = BasicConv2d(inChannels, b.ch1x1, kernelSize: 1, eps: eps)
        branch2 = Sequential(BasicConv2d(inChannels, b.ch3x3red, kernelSize: 1, eps: eps),
                             BasicConv2d(b.ch3x3red, b.ch3x3, kernelSize: 3, padding: 1, eps: eps))
        branch3 = Sequential(BasicConv2d(inChannels, b.ch5x5red, kernelSize: 1, eps: eps),
                             BasicConv2d(b.ch5x5red, b.ch5x5, kernelSize: branch3Kernel, padding: branch3Kernel / 2, eps: eps))
        branch4 = Sequential(MaxPool2d(kernelSize: 3, stride: 1, padding: 1, ceilMode: true),
                             BasicConv2d(inChannels, b.poolProj, kernelSize: 1, eps: eps))
    }

    public override var typeName: String { "Inception" }

    private var branches: [Module] { [branch1, branch2, branch3, branch4] }

    public override var namedChildren: [(name: String, module: Module)] {
        [("branch1", branch1), ("branch2", branch2), ("branch3", branch3), ("branch4", branch4)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let outs = try branches.map { try $0(x) }
        sizes = outs.map { $0.shape[1] }
        return try concatChannels(outs)
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let sizes else { throw NNError.noRecordedForward("Inception") }
        var dx: Tensor?
        for (branch, g) in zip(branches, try splitChannels(gradOutput, sizes: sizes)) where branch.recordsForBackward {
            guard let d = try branch.backward(g) else { continue }
            if dx == nil { dx = d } else { try addInPlace(&dx!, d) }
        }
        return needsInputGradient ? dx : nil
    }

    /// Every branch starts from the block's input.
    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        var any = trainableBefore
        for b in branches { any = b.prepareBackward(trainableBefore: trainableBefore) || any }
        recordsForBackward = any
        return any
    }
}

/// torchvision's GoogLeNet `InceptionAux`: adaptive average pool to 4×4 (a function call), `conv`
/// (BasicConv2d 1×1), flatten, `fc1`, ReLU, `dropout`, `fc2`. Children `conv`, `fc1`, `fc2`, `dropout`.
public final class GoogLeNetAux: Module {
    public let conv: BasicConv2d
    public let fc1: Linear
    public let fc2: Linear
    public let dropout: Dropout
    public let poolSize: Int
    private var saved: (inputShape: [Int], convShape: [Int], hidden: Tensor?)?

    public init(_ inChannels: Int, _ c: GoogLeNetConfig) {
        poolSize = c.auxPool
        conv = BasicConv2d(inChannels, c.auxConv, kernelSize: 1, eps: c.bnEps)
        fc1 = Linear(c.auxConv * c.auxPool * c.auxPool, c.auxHidden)
        fc2 = Linear(c.auxHidden, c.numClasses)
        dropout = Dropout(c.auxDropout)
    }

    public override var typeName: String { "InceptionAux" }

    public override var namedChildren: [(name: String, module: Module)] {
        [("conv", conv), ("fc1", fc1), ("fc2", fc2), ("dropout", dropout)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let pooled = try adaptiveAvgPool2d(x, outputSize: (poolSize, poolSize))
        let h = try conv(pooled)
        let flat = try h.reshaped([h.shape[0], h.count / max(h.shape[0], 1)])
        let hidden: Tensor
        if fc1.fusable {
            hidden = try fc1.fused(flat, activation: .relu)
        } else {
            var z = try fc1(flat)
            activateInPlace(&z, .relu)
            hidden = z
        }
        saved = recordsForBackward ? (x.shape, h.shape, hidden) : nil
        return try fc2(try dropout(hidden))
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved, let hidden = s.hidden else { throw NNError.noRecordedForward("InceptionAux") }
        saved = nil
        guard let g2 = try fc2.backward(gradOutput), let gd = try dropout.backward(g2) else { return nil }
        let gz = try activationBackward(.relu, gradOutput: gd, output: hidden)
        guard let gf = try fc1.backward(gz), let gc = try conv.backward(try gf.reshaped(s.convShape)) else { return nil }
        return needsInputGradient ? try adaptiveAvgPool2dBackward(gradOutput: gc, inputShape: s.inputShape) : nil
    }

    /// In order: conv, fc1, (ReLU), dropout, fc2.
    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        let t = Chain.prepare([conv, fc1, dropout, fc2], trainableBefore: trainableBefore)
        recordsForBackward = t
        return t
    }
}
