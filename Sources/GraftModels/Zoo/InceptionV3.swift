// Inception v3 as torchvision builds it (torchvision/models/inception.py): "Rethinking the Inception
// Architecture for Computer Vision", Szegedy et al. 2015, https://arxiv.org/abs/1512.00567. Weights ported
// from TensorFlow: BatchNorm eps 0.001 and `transform_input`. Expects 299×299 input (at least 75×75).

import GraftNN
import GraftTensor

/// torchvision's `Inception3`: children `Conv2d_1a_3x3`, `Conv2d_2a_3x3`, `Conv2d_2b_3x3`, `maxpool1`,
/// `Conv2d_3b_1x1`, `Conv2d_4a_3x3`, `maxpool2`, `Mixed_5b`…`Mixed_5d`, `Mixed_6a`, `Mixed_6b`…`Mixed_6e`[,
/// `AuxLogits`], `Mixed_7a`, `Mixed_7b`, `Mixed_7c`, `avgpool`, `dropout`, `fc`.
///
/// - `transform_input` (`config.transformInput`) is on, as torchvision's pretrained weights build it.
/// - `AuxLogits` is in the tree (the pretrained checkpoint has its keys) but the forward never runs it:
///   no gradient, no BatchNorm update. `auxOutput(_:)` runs it on demand (needs a 17×17 Mixed_6e map,
///   i.e. 299-pixel input).
/// - The split at the features: `forwardFeatures` is the pooled, flattened 2048-wide output of
///   `avgpool`; the head is `dropout` → `fc` (torchvision drops out before flattening: the same values).
public final class InceptionV3: FeatureHeadNetwork {
    public let config: InceptionV3Config
    public let stem: [BasicConv2d]
    public let maxpool1 = MaxPool2d(kernelSize: 3, stride: 2)
    public let maxpool2 = MaxPool2d(kernelSize: 3, stride: 2)
    public let mixed5: [InceptionV3Block]
    public let mixed6a: InceptionV3Block
    public let mixed6: [InceptionV3Block]
    public let auxLogits: InceptionV3Aux?
    public let mixed7a: InceptionV3Block
    public let mixed7: [InceptionV3Block]
    public let avgpool = AdaptiveAvgPool2d(1)
    public let dropout: Dropout
    public private(set) var fc: Linear
    let transform = InputTransform()
    private var pooledShape: [Int]?

    public init(_ c: InceptionV3Config) {
        config = c
        let eps = c.bnEps, s = c.stem
        stem = [BasicConv2d(3, s[0], kernelSize: 3, stride: 2, eps: eps),
                BasicConv2d(s[0], s[1], kernelSize: 3, eps: eps),
                BasicConv2d(s[1], s[2], kernelSize: 3, padding: 1, eps: eps),
                BasicConv2d(s[2], s[3], kernelSize: 1, eps: eps),
                BasicConv2d(s[3], s[4], kernelSize: 3, eps: eps)]
        var ch = s[4]
        mixed5 = c.mixed5.map { a in defer { ch = a.outChannels }; return .a(ch, a, eps: eps) }
        mixed6a = .b(ch, c.mixed6a, eps: eps)
        ch = c.mixed6a.outChannels(input: ch)
        mixed6 = c.mixed6.map { b in defer { ch = b.outChannels }; return .c(ch, b, eps: eps) }
        auxLogits = c.auxLogits ? InceptionV3Aux(ch, c) : nil
        mixed7a = .d(ch, c.mixed7a, eps: eps)
        ch = c.mixed7a.outChannels(input: ch)
        mixed7 = c.mixed7.map { e in defer { ch = e.outChannels }; return .e(ch, e, eps: eps) }
        dropout = Dropout(c.dropout)
        fc = Linear(ch, c.numClasses)
    }

    static let letters = Array("abcdefghijklmnopqrstuvwxyz").map(String.init)

    private var beforeAux: [(name: String, module: Module)] {
        let stemNames = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3"]
        var out: [(name: String, module: Module)] = [(stemNames[0], stem[0]), (stemNames[1], stem[1]), (stemNames[2], stem[2]),
                                                     ("maxpool1", maxpool1), (stemNames[3], stem[3]), (stemNames[4], stem[4]),
                                                     ("maxpool2", maxpool2)]
        out += mixed5.enumerated().map { ("Mixed_5\(Self.letters[$0.offset + 1])", $0.element as Module) }
        out.append(("Mixed_6a", mixed6a))
        out += mixed6.enumerated().map { ("Mixed_6\(Self.letters[$0.offset + 1])", $0.element as Module) }
        return out
    }

    private var afterAux: [(name: String, module: Module)] {
        [("Mixed_7a", mixed7a)] + mixed7.enumerated().map { ("Mixed_7\(Self.letters[$0.offset + 1])", $0.element as Module) }
    }

    /// Everything the forward runs before `avgpool`, in order.
    private var trunk: [Module] { (beforeAux + afterAux).map(\.module) }

    public override var namedChildren: [(name: String, module: Module)] {
        beforeAux + (auxLogits.map { [("AuxLogits", $0 as Module)] } ?? []) + afterAux
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

    /// The subtree the forward never runs (neither body nor head).
    public override var auxiliaryPaths: [String] { auxLogits == nil ? [] : ["AuxLogits"] }

    /// The module path whose output feeds AuxLogits (Mixed_6e, or the last Mixed_6 block present).
    public var auxInputPath: String { beforeAux.last!.name }

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

    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        var before = Chain.prepare(trunk, trainableBefore: trainableBefore)
        if let auxLogits { Chain.exclude(auxLogits) }
        before = Chain.prepare([avgpool, dropout, fc], trainableBefore: before)
        recordsForBackward = before
        return before
    }

    /// AuxLogits' logits in evaluation mode, on the output of Mixed_6e as torchvision computes them in
    /// training (nil without the head).
    public func auxOutput(_ x: Tensor) throws -> Tensor? {
        guard let auxLogits else { return nil }
        let path = auxInputPath
        return try auxLogits(try intermediates(x, at: [path])[path]!)
    }
}

/// One of Inception v3's blocks (`InceptionA`…`InceptionE`): branches that start from the block's input —
/// an optional pool (a function call in torchvision: 3×3 stride-1 padding-1 average, or 3×3 stride-2
/// max), a chain of BasicConv2d, and for InceptionE a final fork of two convolutions whose outputs are
/// concatenated — and the branches' outputs concatenated along channels. The BasicConv2d are the
/// block's own children under torchvision's attribute names (`branch5x5_1`, `branch3x3_2a`, …), in
/// torchvision's registration order, which is the branches' order.
public final class InceptionV3Block: Module {
    public enum Pool: Sendable { case none, average, max }

    struct Branch {
        let pool: Pool
        let chain: [BasicConv2d]
        let fork: [BasicConv2d]
    }

    public let kind: String
    private let children: [(name: String, module: BasicConv2d)]
    private let branches: [Branch]
    private var saved: (inputShape: [Int], sizes: [Int], maxIndices: [Int32]?)?

    static let averagePool = Pool2dParams(kernel: 3, stride: 1, padding: 1)
    static let maxPool = Pool2dParams(kernel: 3, stride: 2)

    /// `branches`: for each, its pool, the names of its chain and of its final fork, all among `units`.
    init(kind: String, units: [(String, BasicConv2d)], branches: [(Pool, [String], [String])]) {
        self.kind = kind
        children = units
        let byName = Dictionary(uniqueKeysWithValues: units)
        self.branches = branches.map { Branch(pool: $0.0, chain: $0.1.map { byName[$0]! }, fork: $0.2.map { byName[$0]! }) }
    }

    public override var typeName: String { kind }

    public override var namedChildren: [(name: String, module: Module)] { children.map { ($0.name, $0.module as Module) } }

    /// The BasicConv2d called `name`.
    public subscript(name: String) -> BasicConv2d? { children.first { $0.name == name }?.module }

    static func a(_ inC: Int, _ c: InceptionV3Config.A, eps: Float) -> InceptionV3Block {
        let u = { (i: Int, o: Int, k: Int, p: Int) in BasicConv2d(i, o, kernelSize: k, padding: p, eps: eps) }
        let r5 = c.branch5x5, d = c.branch3x3dbl
        return InceptionV3Block(kind: "InceptionA", units: [
            ("branch1x1", u(inC, c.branch1x1, 1, 0)),
            ("branch5x5_1", u(inC, r5[0], 1, 0)), ("branch5x5_2", u(r5[0], r5[1], 5, 2)),
            ("branch3x3dbl_1", u(inC, d[0], 1, 0)), ("branch3x3dbl_2", u(d[0], d[1], 3, 1)), ("branch3x3dbl_3", u(d[1], d[2], 3, 1)),
            ("branch_pool", u(inC, c.poolFeatures, 1, 0)),
        ], branches: [(.none, ["branch1x1"], []), (.none, ["branch5x5_1", "branch5x5_2"], []),
                      (.none, ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"], []), (.average, ["branch_pool"], [])])
    }

    static func b(_ inC: Int, _ c: InceptionV3Config.B, eps: Float) -> InceptionV3Block {
        let d = c.branch3x3dbl
        return InceptionV3Block(kind: "InceptionB", units: [
            ("branch3x3", BasicConv2d(inC, c.branch3x3, kernelSize: 3, stride: 2, eps: eps)),
            ("branch3x3dbl_1", BasicConv2d(inC, d[0], kernelSize: 1, eps: eps)),
            ("branch3x3dbl_2", BasicConv2d(d[0], d[1], kernelSize: 3, padding: 1, eps: eps)),
            ("branch3x3dbl_3", BasicConv2d(d[1], d[2], kernelSize: 3, stride: 2, eps: eps)),
        ], branches: [(.none, ["branch3x3"], []), (.none, ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"], []),
                      (.max, [], [])])
    }

    static func c(_ inC: Int, _ c: InceptionV3Config.C, eps: Float) -> InceptionV3Block {
        let c7 = c.channels7x7
        let one = { (i: Int, o: Int) in BasicConv2d(i, o, kernelSize: 1, eps: eps) }
        let row = { (i: Int, o: Int) in BasicConv2d(i, o, kernelSize: (1, 7), padding: (0, 3), eps: eps) }
        let col = { (i: Int, o: Int) in BasicConv2d(i, o, kernelSize: (7, 1), padding: (3, 0), eps: eps) }
        return InceptionV3Block(kind: "InceptionC", units: [
            ("branch1x1", one(inC, c.branch1x1)),
            ("branch7x7_1", one(inC, c7)), ("branch7x7_2", row(c7, c7)), ("branch7x7_3", col(c7, c.branch7x7)),
            ("branch7x7dbl_1", one(inC, c7)), ("branch7x7dbl_2", col(c7, c7)), ("branch7x7dbl_3", row(c7, c7)),
            ("branch7x7dbl_4", col(c7, c7)), ("branch7x7dbl_5", row(c7, c.branch7x7dbl)),
            ("branch_pool", one(inC, c.branchPool)),
        ], branches: [(.none, ["branch1x1"], []), (.none, ["branch7x7_1", "branch7x7_2", "branch7x7_3"], []),
                      (.none, (1...5).map { "branch7x7dbl_\($0)" }, []), (.average, ["branch_pool"], [])])
    }

    static func d(_ inC: Int, _ c: InceptionV3Config.D, eps: Float) -> InceptionV3Block {
        let a = c.branch3x3, s = c.branch7x7x3
        return InceptionV3Block(kind: "InceptionD", units: [
            ("branch3x3_1", BasicConv2d(inC, a[0], kernelSize: 1, eps: eps)),
            ("branch3x3_2", BasicConv2d(a[0], a[1], kernelSize: 3, stride: 2, eps: eps)),
            ("branch7x7x3_1", BasicConv2d(inC, s[0], kernelSize: 1, eps: eps)),
            ("branch7x7x3_2", BasicConv2d(s[0], s[1], kernelSize: (1, 7), padding: (0, 3), eps: eps)),
            ("branch7x7x3_3", BasicConv2d(s[1], s[2], kernelSize: (7, 1), padding: (3, 0), eps: eps)),
            ("branch7x7x3_4", BasicConv2d(s[2], s[3], kernelSize: 3, stride: 2, eps: eps)),
        ], branches: [(.none, ["branch3x3_1", "branch3x3_2"], []), (.none, (1...4).map { "branch7x7x3_\($0)" }, []),
                      (.max, [], [])])
    }

    static func e(_ inC: Int, _ c: InceptionV3Config.E, eps: Float) -> InceptionV3Block {
        let r = c.branch3x3, d = c.branch3x3dbl
        let row = { (i: Int, o: Int) in BasicConv2d(i, o, kernelSize: (1, 3), padding: (0, 1), eps: eps) }
        let col = { (i: Int, o: Int) in BasicConv2d(i, o, kernelSize: (3, 1), padding: (1, 0), eps: eps) }
        return InceptionV3Block(kind: "InceptionE", units: [
            ("branch1x1", BasicConv2d(inC, c.branch1x1, kernelSize: 1, eps: eps)),
            ("branch3x3_1", BasicConv2d(inC, r[0], kernelSize: 1, eps: eps)),
            ("branch3x3_2a", row(r[0], r[1])), ("branch3x3_2b", col(r[0], r[1])),
            ("branch3x3dbl_1", BasicConv2d(inC, d[0], kernelSize: 1, eps: eps)),
            ("branch3x3dbl_2", BasicConv2d(d[0], d[1], kernelSize: 3, padding: 1, eps: eps)),
            ("branch3x3dbl_3a", row(d[1], d[2])), ("branch3x3dbl_3b", col(d[1], d[2])),
            ("branch_pool", BasicConv2d(inC, c.branchPool, kernelSize: 1, eps: eps)),
        ], branches: [(.none, ["branch1x1"], []), (.none, ["branch3x3_1"], ["branch3x3_2a", "branch3x3_2b"]),
                      (.none, ["branch3x3dbl_1", "branch3x3dbl_2"], ["branch3x3dbl_3a", "branch3x3dbl_3b"]),
                      (.average, ["branch_pool"], [])])
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        var outs: [Tensor] = []
        var indices: [Int32]?
        for b in branches {
            var h = x
            switch b.pool {
            case .none: break
            case .average: h = try avgPool2d(x, Self.averagePool)
            case .max:
                if recordsForBackward && needsInputGradient {
                    let r = try maxPool2dWithIndices(x, Self.maxPool)
                    indices = r.indices
                    h = r.output
                } else {
                    h = try maxPool2d(x, Self.maxPool)
                }
            }
            for u in b.chain { h = try u(h) }
            if b.fork.isEmpty { outs.append(h) } else { for u in b.fork { outs.append(try u(h)) } }
        }
        saved = recordsForBackward ? (x.shape, outs.map { $0.shape[1] }, indices) : nil
        return try concatChannels(outs)
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved else { throw NNError.noRecordedForward(kind) }
        saved = nil
        let parts = try splitChannels(gradOutput, sizes: s.sizes)
        var next = 0
        var dx: Tensor?
        for b in branches {
            var d: Tensor?
            if b.fork.isEmpty {
                d = parts[next]
                next += 1
            } else {
                for u in b.fork {
                    let g = parts[next]
                    next += 1
                    guard u.recordsForBackward, let du = try u.backward(g) else { continue }
                    if d == nil { d = du } else { try addInPlace(&d!, du) }
                }
            }
            for u in b.chain.reversed() {
                guard let g = d, u.recordsForBackward else { d = nil; break }
                d = try u.backward(g)
            }
            guard needsInputGradient, let g = d else { continue }
            let di: Tensor
            switch b.pool {
            case .none: di = g
            case .average: di = try avgPool2dBackward(gradOutput: g, inputShape: s.inputShape, Self.averagePool)
            case .max:
                guard let idx = s.maxIndices else { throw NNError.noRecordedForward(kind) }
                di = try maxPool2dBackward(gradOutput: g, indices: idx, inputShape: s.inputShape)
            }
            if dx == nil { dx = di } else { try addInPlace(&dx!, di) }
        }
        return needsInputGradient ? dx : nil
    }

    /// Every branch starts from the block's input; inside a branch the chain runs in order and the fork's
    /// convolutions both start from its end.
    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        var any = trainableBefore
        for b in branches {
            let end = Chain.prepare(b.chain, trainableBefore: trainableBefore)
            var branchAny = end
            for u in b.fork { branchAny = u.prepareBackward(trainableBefore: end) || branchAny }
            any = any || branchAny
        }
        recordsForBackward = any
        return any
    }
}

/// torchvision's Inception v3 `InceptionAux`: 5×5 stride-3 average pool (a function call), `conv0`
/// (BasicConv2d 1×1), `conv1` (BasicConv2d 5×5), global average pool, flatten, `fc`.
public final class InceptionV3Aux: Module {
    public let conv0: BasicConv2d
    public let conv1: BasicConv2d
    public let fc: Linear
    static let pool = Pool2dParams(kernel: 5, stride: 3)
    private var saved: (inputShape: [Int], convShape: [Int])?

    public init(_ inChannels: Int, _ c: InceptionV3Config) {
        conv0 = BasicConv2d(inChannels, c.auxConv0, kernelSize: 1, eps: c.bnEps)
        conv1 = BasicConv2d(c.auxConv0, c.auxConv1, kernelSize: 5, eps: c.bnEps)
        fc = Linear(c.auxConv1, c.numClasses)
    }

    public override var typeName: String { "InceptionAux" }

    public override var namedChildren: [(name: String, module: Module)] { [("conv0", conv0), ("conv1", conv1), ("fc", fc)] }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let h = try conv1(try conv0(try avgPool2d(x, Self.pool)))
        saved = recordsForBackward ? (x.shape, h.shape) : nil
        let pooled = try globalAvgPool(h)
        return try fc(try pooled.reshaped([pooled.shape[0], pooled.shape[1]]))
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved else { throw NNError.noRecordedForward("InceptionAux") }
        saved = nil
        guard let g = try fc.backward(gradOutput) else { return nil }
        let dh = try globalAvgPoolBackward(gradOutput: try g.reshaped([g.shape[0], g.shape[1], 1, 1]), inputShape: s.convShape)
        guard let d1 = try conv1.backward(dh), let d0 = try conv0.backward(d1) else { return nil }
        return needsInputGradient ? try avgPool2dBackward(gradOutput: d0, inputShape: s.inputShape, Self.pool) : nil
    }

    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        let t = Chain.prepare([conv0, conv1, fc], trainableBefore: trainableBefore)
        recordsForBackward = t
        return t
    }
}
