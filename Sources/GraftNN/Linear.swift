import GraftTensor

/// torch's `nn.Linear`: `y = x·Wᵀ + b`, weight `[out, in]`.
///
/// `fused(_:activation:)` applies a following activation inside the kernel (a container's inference
/// path for `Linear → ReLU`, VGG's hidden classifier layers).
public final class Linear: Module, ActivationFusing {
    public let weight: Parameter
    public let bias: Parameter?
    public let inFeatures: Int, outFeatures: Int
    private var saved: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(kind: .weight, shape: [outFeatures, inFeatures])
        self.bias = bias ? Parameter(kind: .bias, shape: [outFeatures]) : nil
    }

    /// A layer around existing tensors (weight `[out, in]`, bias `[out]`).
    public init(weight: Tensor, bias: Tensor?) throws {
        guard weight.rank == 2, bias.map({ $0.shape == [weight.shape[0]] }) ?? true else {
            throw NNError.badArgument("Linear: weight must be [out, in] and bias [out], got \(weight.shape) and \(bias?.shape ?? [])")
        }
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        self.weight = Parameter(kind: .weight, value: weight)
        self.bias = bias.map { Parameter(kind: .bias, value: $0) }
    }

    public override var namedStates: [(name: String, state: StateEntry)] {
        [("weight", .parameter(weight))] + (bias.map { [("bias", .parameter($0))] } ?? [])
    }

    public override func resetParameters(_ scheme: InitScheme, _ rng: inout SeededGenerator) {
        switch scheme {
        case .torchDefault:
            Initializer.torchDefault(fanIn: inFeatures).fill(weight, &rng)
            if let bias { Initializer.torchDefault(fanIn: inFeatures).fill(bias, &rng) }
        case .kaiming:
            Initializer.normal(std: 0.01).fill(weight, &rng)
            if let bias { Initializer.zeros.fill(bias, &rng) }
        }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        saved = recordsForBackward ? x : nil
        return try linear(x, weight: weight.value, bias: bias?.value)
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let x = saved else { throw NNError.noRecordedForward("Linear") }
        saved = nil
        let g = try linearBackward(x: x, weight: weight.value, gradOutput: gradOutput, inputGradient: needsInputGradient)
        try weight.accumulate(g.weight)
        try bias?.accumulate(g.bias)
        return g.input
    }

    /// Inference: `activation(x·Wᵀ + b)` in one kernel.
    public func fused(_ x: Tensor, activation: Activation) throws -> Tensor {
        try linear(x, weight: weight.value, bias: bias?.value, activation: activation)
    }
}
