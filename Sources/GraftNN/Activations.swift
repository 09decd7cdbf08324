import GraftTensor

/// An elementwise activation as a module of its own (`nn.ReLU()`, `nn.SiLU()` …). It has no state;
/// containers fuse it into the preceding convolution or linear layer at inference.
public class ActivationModule: Module {
    public let kind: Activation
    private var saved: Tensor?

    public init(_ kind: Activation) { self.kind = kind }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let y = activation(x, kind)
        // ReLU's and sigmoid's gradients follow from the output; the others' from the input.
        saved = recordsForBackward ? (usesOutput ? y : x) : nil
        return y
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved else { throw NNError.noRecordedForward(typeName) }
        saved = nil
        guard needsInputGradient else { return nil }
        return usesOutput ? try activationBackward(kind, gradOutput: gradOutput, output: s)
            : try activationBackward(kind, gradOutput: gradOutput, input: s)
    }

    private var usesOutput: Bool { kind == .relu || kind == .sigmoid }
}

/// `max(x, 0)`.
public final class ReLU: ActivationModule { public init() { super.init(.relu) } }
/// `min(max(x, 0), 6)`.
public final class ReLU6: ActivationModule { public init() { super.init(.relu6) } }
/// `x · σ(x)` (swish).
public final class SiLU: ActivationModule { public init() { super.init(.silu) } }
/// `1 / (1 + e^−x)`.
public final class Sigmoid: ActivationModule { public init() { super.init(.sigmoid) } }
/// `x · relu6(x + 3) / 6` (`nn.Hardswish`).
public final class Hardswish: ActivationModule { public init() { super.init(.hardswish) } }
/// `relu6(x + 3) / 6` (`nn.Hardsigmoid`).
public final class Hardsigmoid: ActivationModule { public init() { super.init(.hardsigmoid) } }
/// `x · Φ(x)` with the exact erf (`nn.GELU()`, `approximate='none'`).
public final class GELU: ActivationModule { public init() { super.init(.gelu) } }

extension Activation {
    /// The module of this activation (nil for `.none`).
    public var module: ActivationModule? {
        switch self {
        case .none: return nil
        case .relu: return ReLU()
        case .relu6: return ReLU6()
        case .silu: return SiLU()
        case .sigmoid: return Sigmoid()
        case .hardswish: return Hardswish()
        case .hardsigmoid: return Hardsigmoid()
        case .gelu: return GELU()
        }
    }
}
