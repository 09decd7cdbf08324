import GraftTensor

/// torch's `nn.Conv2d`: weight `[out, in / groups, kh, kw]`, optional bias, any stride, padding,
/// dilation and groups; `padding: .same` as torch's `padding="same"`, `.tfSame` as TensorFlow's
/// "SAME" (the split recomputed for each input size, the odd pixel at the bottom/right).
///
/// `fused(_:norm:activation:residual:)` is the inference path `Sequential` and the zoo's blocks take:
/// a following BatchNorm folded into the weights (cached until a parameter changes), the activation
/// and a residual add applied in the convolution's epilogue.
public final class Conv2d: Module {
    public enum Padding: Sendable, Equatable {
        case explicit(h: Int, w: Int)
        case same
        case tfSame
    }

    public let weight: Parameter
    public let bias: Parameter?
    public let inChannels: Int, outChannels: Int
    public let kernelSize: (h: Int, w: Int)
    public let stride: (h: Int, w: Int)
    public let dilation: (h: Int, w: Int)
    public let padding: Padding
    public let groups: Int
    /// The algorithms its kernels use (per model, not process-wide, so models configured
    /// differently can run side by side); `setConvolutionOptions` sets a whole subtree.
    public var options: ConvolutionOptions = .machineDefault

    private var saved: (x: Tensor, params: Conv2dParams)?
    private var folded: (norm: ObjectIdentifier, versions: [Int], weight: Tensor, bias: Tensor?)?

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: (h: Int, w: Int), stride: (h: Int, w: Int) = (1, 1),
                padding: Padding = .explicit(h: 0, w: 0), dilation: (h: Int, w: Int) = (1, 1), groups: Int = 1, bias: Bool = true) {
        precondition(inChannels > 0 && outChannels > 0 && groups > 0 && inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: channels must be positive multiples of groups")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        weight = Parameter(kind: .weight, shape: [outChannels, inChannels / groups, kernelSize.h, kernelSize.w])
        self.bias = bias ? Parameter(kind: .bias, shape: [outChannels]) : nil
    }

    /// Square kernel, symmetric padding: `Conv2d(3, 64, kernelSize: 7, stride: 2, padding: 3, bias: false)`.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            dilation: Int = 1, groups: Int = 1, bias: Bool = true) {
        self.init(inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
                  padding: .explicit(h: padding, w: padding), dilation: (dilation, dilation), groups: groups, bias: bias)
    }

    public override var namedStates: [(name: String, state: StateEntry)] {
        [("weight", .parameter(weight))] + (bias.map { [("bias", .parameter($0))] } ?? [])
    }

    public override func resetParameters(_ scheme: InitScheme, _ rng: inout SeededGenerator) {
        let fanIn = inChannels / groups * kernelSize.h * kernelSize.w
        let fanOut = outChannels / groups * kernelSize.h * kernelSize.w
        switch scheme {
        case .torchDefault:
            Initializer.torchDefault(fanIn: fanIn).fill(weight, &rng)
            if let bias { Initializer.torchDefault(fanIn: fanIn).fill(bias, &rng) }
        case .kaiming:
            Initializer.kaimingFanOut(fanOut).fill(weight, &rng)
            if let bias { Initializer.zeros.fill(bias, &rng) }
        }
    }

    /// The geometry for an input of `x`'s size.
    public func geometry(for x: Tensor) -> Conv2dParams {
        let k = kernelSize
        switch padding {
        case .explicit(let h, let w):
            return Conv2dParams(stride: stride, padding: (h, w, h, w), dilation: dilation, groups: groups)
        case .same:
            // torch: total padding d·(k − 1), the smaller half first (stride 1 only).
            let th = dilation.h * (k.h - 1), tw = dilation.w * (k.w - 1)
            return Conv2dParams(stride: stride, padding: (th / 2, tw / 2, th - th / 2, tw - tw / 2), dilation: dilation, groups: groups)
        case .tfSame:
            guard x.rank == 4 else { return Conv2dParams(stride: stride, padding: (0, 0, 0, 0), dilation: dilation, groups: groups) }
            return Conv2dParams.same(inputH: x.shape[2], inputW: x.shape[3], kernelH: k.h, kernelW: k.w,
                                     stride: stride, dilation: dilation, groups: groups)
        }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let params = geometry(for: x)
        saved = recordsForBackward ? (x, params) : nil
        // A recorded forward pass is a training step's: its tile (see `ConvolutionOptions.training`).
        return try conv2d(x, weight: weight.value, bias: bias?.value, params: params,
                          options: recordsForBackward ? options.training : options)
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved else { throw NNError.noRecordedForward("Conv2d") }
        saved = nil
        let trains = weight.requiresGrad || (bias?.requiresGrad ?? false)
        if !trains && !needsInputGradient { return nil }
        let g = try conv2dBackward(x: s.x, weight: weight.value, gradOutput: gradOutput, params: s.params,
                                   inputGradient: needsInputGradient, biasGradient: bias?.requiresGrad == true,
                                   options: options.training)
        try weight.accumulate(g.weight)
        try bias?.accumulate(g.bias)
        return g.input
    }

    /// Inference: `activation(bn(conv(x)) + residual)` in one kernel, BatchNorm folded.
    public func fused(_ x: Tensor, norm: BatchNorm2d?, activation: Activation, residual: Tensor? = nil) throws -> Tensor {
        let (w, b) = try foldedWeights(norm)
        return try conv2d(x, weight: w, bias: b, params: geometry(for: x), activation: activation, residual: residual,
                          options: options)
    }

    /// The BatchNorm-folded weights, recomputed only when a parameter changed.
    private func foldedWeights(_ norm: BatchNorm2d?) throws -> (Tensor, Tensor?) {
        guard let norm else { return (weight.value, bias?.value) }
        let versions = [weight.version, bias?.version ?? -1] + norm.versions
        if let f = folded, f.norm == ObjectIdentifier(norm), f.versions == versions { return (f.weight, f.bias) }
        let (w, b) = try norm.fold(convWeight: weight.value, convBias: bias?.value)
        folded = (ObjectIdentifier(norm), versions, w, b)
        return (w, b)
    }
}
