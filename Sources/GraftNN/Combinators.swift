import GraftTensor

/// `activation(body(x) + shortcut(x))` as an ordinary module (children `body` and, unless the
/// shortcut is the identity, `shortcut`). The add and the activation run in one pass over the body's
/// output; a block that wants them in its last convolution's epilogue calls
/// `Conv2d.fused(_:norm:activation:residual:)` itself, as the zoo's ResNet block does.
public final class Residual: Module {
    public private(set) var body: Module
    public private(set) var shortcut: Module?
    public let activation: Activation
    /// For backward: the output (ReLU, sigmoid), or the sum before an activation whose gradient
    /// needs its input (SiLU, ReLU6).
    private var saved: Tensor?

    public init(_ body: Module, shortcut: Module? = nil, activation: Activation = .none) {
        self.body = body
        self.shortcut = shortcut
        self.activation = activation
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("body", body)] + (shortcut.map { [("shortcut", $0)] } ?? [])
    }

    public override func setChild(_ name: String, _ module: Module) throws {
        switch name {
        case "body": body = module
        case "shortcut": shortcut = module
        default: throw NNError.cannotReplace(parent: typeName, child: name)
        }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let skip = try shortcut?(x) ?? x
        var out = try body(x)
        guard recordsForBackward && activation != .none else {
            saved = nil
            try addInPlace(&out, skip, activation: activation)
            return out
        }
        if gradientFromOutput {
            try addInPlace(&out, skip, activation: activation)
            saved = out
            return out
        }
        try addInPlace(&out, skip)
        saved = out
        return GraftTensor.activation(out, activation)
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        var d = gradOutput
        if activation != .none {
            guard let s = saved else { throw NNError.noRecordedForward("Residual") }
            saved = nil
            d = gradientFromOutput ? try activationBackward(activation, gradOutput: gradOutput, output: s)
                : try activationBackward(activation, gradOutput: gradOutput, input: s)
        }
        var dBody = body.recordsForBackward ? try body.backward(d) : nil
        let dSkip = shortcut == nil ? d : (shortcut!.recordsForBackward ? try shortcut!.backward(d) : nil)
        guard needsInputGradient else { return nil }
        return try sumOfGradients(&dBody, dSkip)
    }

    private var gradientFromOutput: Bool { activation == .relu || activation == .sigmoid }

    /// Both paths start from the block's input.
    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        let a = body.prepareBackward(trainableBefore: trainableBefore)
        let b = shortcut?.prepareBackward(trainableBefore: trainableBefore) ?? trainableBefore
        recordsForBackward = a || b
        return a || b
    }
}

/// Branches applied to the same input, their outputs concatenated along channels
/// (`torch.cat([b(x) for b in branches], 1)`: Inception blocks, SqueezeNet's Fire expand).
public final class Concat: Module {
    public private(set) var branches: [Module]
    private var sizes: [Int]?

    public init(_ branches: [Module]) { self.branches = branches }

    public override var namedChildren: [(name: String, module: Module)] {
        branches.enumerated().map { (String($0.offset), $0.element) }
    }

    public override func setChild(_ name: String, _ module: Module) throws {
        guard let i = Int(name), branches.indices.contains(i) else { throw NNError.cannotReplace(parent: typeName, child: name) }
        branches[i] = module
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let outs = try branches.map { try $0(x) }
        sizes = outs.map { $0.shape[1] }
        return try concatChannels(outs)
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let sizes else { throw NNError.noRecordedForward("Concat") }
        var dx: Tensor?
        for (branch, g) in zip(branches, try splitChannels(gradOutput, sizes: sizes)) where branch.recordsForBackward {
            guard let d = try branch.backward(g) else { continue }
            if dx == nil { dx = d } else { try addInPlace(&dx!, d) }
        }
        return needsInputGradient ? dx : nil
    }

    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        var any = trainableBefore
        for b in branches { any = b.prepareBackward(trainableBefore: trainableBefore) || any }
        recordsForBackward = any
        return any
    }
}

/// The input gradient of two branches that were added: `a + b` in `a`'s buffer, or the one that
/// exists when the other branch is frozen. `a` is taken (left nil), so its buffer has no other owner
/// and the sum is in place: a tensor still held by a local binding would be copied by
/// copy-on-write first, one activation-sized copy per block and step.
public func sumOfGradients(_ a: inout Tensor?, _ b: Tensor?) throws -> Tensor? {
    guard var sum = a.take() else { return b }
    guard let b else { return sum }
    try addInPlace(&sum, b)
    return sum
}
