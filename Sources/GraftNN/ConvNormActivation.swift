import GraftTensor

/// Convolution → optional BatchNorm → optional activation: every convolution of the zoo is one.
///
/// Evaluation (and frozen layers during training) runs one fused kernel: BatchNorm folded into the
/// weights and bias (cached until any of them changes) and the activation applied in the conv's
/// epilogue. Training keeps the three steps apart and records the input, the pre-norm and the
/// pre-activation tensors for backward.
public final class ConvNormActivation: LayerBase, Layer {
    public let weight: Parameter
    public let bias: Parameter?
    public let norm: BatchNorm?
    public let params: Conv2dParams
    public let activation: Activation
    /// TensorFlow "same" padding, recomputed from each input's size (its split depends on parity);
    /// `params` then supplies stride, dilation and groups only.
    public let tfSamePadding: Bool

    private var folded: (weight: Tensor, bias: Tensor?, versions: FoldVersions)?
    private var saved: (x: Tensor, z: Tensor, y: Tensor, statistics: BatchNormStatistics?, params: Conv2dParams)?

    public init(weight: Parameter, bias: Parameter?, norm: BatchNorm?, params: Conv2dParams, activation: Activation,
                tfSamePadding: Bool = false) {
        self.weight = weight
        self.bias = bias
        self.norm = norm
        self.params = params
        self.activation = activation
        self.tfSamePadding = tfSamePadding
    }

    /// The geometry for an input of `x`'s size.
    private func geometry(for x: Tensor) -> Conv2dParams {
        guard tfSamePadding, x.rank == 4 else { return params }
        let k = weight.value.shape
        return Conv2dParams.same(inputH: x.shape[2], inputW: x.shape[3], kernelH: k[2], kernelW: k[3],
                                 stride: (params.strideH, params.strideW), dilation: (params.dilationH, params.dilationW),
                                 groups: params.groups)
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) + (norm?.parameters ?? []) }
    public var counters: [Counter] { norm?.batchesTracked.map { [$0] } ?? [] }

    private var usesBatchStatistics: Bool { isTraining && (norm?.useBatchStatistics ?? false) }

    public func forward(_ x: Tensor) throws -> Tensor {
        let params = geometry(for: x)
        if !recordsForBackward && !usesBatchStatistics {
            saved = nil
            let (w, b) = try foldedWeights()
            return try conv2d(x, weight: w, bias: b, params: params, activation: activation)
        }
        let z = try conv2d(x, weight: weight.value, bias: bias?.value, params: params)
        var y = z
        var statistics: BatchNormStatistics?
        if let norm {
            if usesBatchStatistics {
                (y, statistics) = try norm.forwardTraining(z)
            } else {
                let (scale, shift) = try norm.scaleShift()
                y = try batchNormInference(z, scale: scale, shift: shift)
            }
        }
        let out = activation == .none ? y : GraftTensor.activation(y, activation)
        saved = recordsForBackward ? (x, z, y, statistics, params) : nil
        return out
    }

    /// Inference only: `activation(conv(x) + residual)` in one kernel (a residual block's last
    /// convolution, the add and its ReLU). Nil when this layer must record or normalize with batch
    /// statistics, in which case the caller takes the separate path.
    public func fusedForward(_ x: Tensor, residual: Tensor, activation final: Activation) throws -> Tensor? {
        guard !recordsForBackward && !usesBatchStatistics && activation == .none else { return nil }
        let (w, b) = try foldedWeights()
        return try conv2d(x, weight: w, bias: b, params: geometry(for: x), activation: final, residual: residual)
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved else { throw NNError.noRecordedForward("ConvNormActivation(\(weight.name))") }
        saved = nil
        var d = activation == .none ? gradOutput : try activationBackward(activation, gradOutput: gradOutput, input: s.y)
        if let norm {
            if let stats = s.statistics {
                d = try norm.backwardTraining(z: s.z, gradOutput: d, statistics: stats)
            } else {
                // Frozen statistics: γ/β may still train (train-affine); dz is needed only if the conv
                // trains or an earlier layer wants a gradient.
                let convNeeds = weight.requiresGrad || (bias?.requiresGrad ?? false) || needsInputGradient
                guard let dz = try norm.backwardFrozen(z: s.z, gradOutput: d, needInput: convNeeds) else { return nil }
                d = dz
            }
        }
        let needInput = needsInputGradient
        if !weight.requiresGrad && !(bias?.requiresGrad ?? false) && !needInput { return nil }
        let grads = try conv2dBackward(x: s.x, weight: weight.value, gradOutput: d, params: s.params, inputGradient: needInput)
        try weight.accumulate(grads.weight)
        try bias?.accumulate(grads.bias)
        return grads.input
    }

    /// The BatchNorm-folded weights, recomputed only when a parameter changed.
    private func foldedWeights() throws -> (Tensor, Tensor?) {
        guard let norm else { return (weight.value, bias?.value) }
        let versions = FoldVersions(weight: weight.version, bias: bias?.version ?? -1, norm: norm.versions)
        if let f = folded, f.versions == versions { return (f.weight, f.bias) }
        let (w, b) = try norm.fold(convWeight: weight.value, convBias: bias?.value)
        folded = (w, b, versions)
        return (w, b)
    }
}

/// The parameter versions a folded convolution was computed from (a plain value: comparing it on
/// every inference forward allocates nothing).
struct FoldVersions: Equatable {
    struct Norm: Equatable { let weight, bias, mean, variance: Int }
    let weight: Int
    let bias: Int
    let norm: Norm
}
