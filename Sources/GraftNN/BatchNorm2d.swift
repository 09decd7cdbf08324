import GraftTensor

/// torch's `nn.BatchNorm2d`: γ (`weight`), β (`bias`), `running_mean`, `running_var`,
/// `num_batches_tracked`.
///
/// In evaluation it is an affine map from the running statistics (and is folded into a preceding
/// convolution by `Conv2d.fused`). In training it either normalizes with batch statistics and updates
/// the running ones as PyTorch does (`running = (1 − momentum)·running + momentum·batch`, unbiased
/// variance, `num_batches_tracked += 1`), or — frozen by policy — keeps using the running statistics
/// (`useBatchStatistics = false`, timm's FrozenBatchNorm).
public final class BatchNorm2d: Module {
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Parameter
    public let runningVar: Parameter
    public let batchesTracked: Counter
    public let numFeatures: Int
    public let eps: Float
    /// Settable, as torch's `bn.momentum` is (1 makes the running statistics the next batch's: a
    /// one-pass recalibration).
    public var momentum: Float
    /// In training mode: normalize with batch statistics and update the running ones.
    public var useBatchStatistics = true

    /// The input, the batch statistics (nil: running ones), and the ReLU output when `forwardReLU` ran.
    private var saved: (z: Tensor, statistics: BatchNormStatistics?, reLUOutput: Tensor?)?

    public init(_ numFeatures: Int, eps: Float = 1e-5, momentum: Float = 0.1) {
        self.numFeatures = numFeatures
        self.eps = eps
        self.momentum = momentum
        weight = Parameter(kind: .normAffine, shape: [numFeatures], fill: 1)
        bias = Parameter(kind: .normAffine, shape: [numFeatures])
        runningMean = Parameter(kind: .buffer, shape: [numFeatures])
        runningVar = Parameter(kind: .buffer, shape: [numFeatures], fill: 1)
        batchesTracked = Counter()
    }

    public override var namedStates: [(name: String, state: StateEntry)] {
        [("weight", .parameter(weight)), ("bias", .parameter(bias)), ("running_mean", .parameter(runningMean)),
         ("running_var", .parameter(runningVar)), ("num_batches_tracked", .counter(batchesTracked))]
    }

    public override func resetParameters(_ scheme: InitScheme, _ rng: inout SeededGenerator) {
        Initializer.ones.fill(weight, &rng)
        Initializer.zeros.fill(bias, &rng)
    }

    /// Versions of everything the folded form depends on.
    var versions: [Int] { [weight.version, bias.version, runningMean.version, runningVar.version] }

    /// Whether a forward now normalizes with batch statistics.
    public var normalizesWithBatch: Bool { isTraining && useBatchStatistics }

    public override func forward(_ z: Tensor) throws -> Tensor {
        if normalizesWithBatch { return try normalizeWithBatch(z, reLU: false) }
        saved = recordsForBackward ? (z, nil, nil) : nil
        let (scale, shift) = try scaleShift()
        return try batchNormInference(z, scale: scale, shift: shift)
    }

    /// `relu(self(z))` for this BatchNorm followed by the ReLU module `relu` (ResNet's
    /// `relu(bn(conv(x)))`): in training with batch statistics one pass over the activation instead
    /// of two, forward and backward. `backward` then takes the gradient of the ReLU's output (it applies
    /// ReLU's own). With an observer or tracer on either module, both run as modules.
    public func forwardReLU(_ z: Tensor, after relu: Module) throws -> Tensor {
        let watched = [self, relu].contains { $0.outputObserver != nil || $0.forwardTracer != nil }
        if normalizesWithBatch && !watched { return try normalizeWithBatch(z, reLU: true) }
        let y = try relu(try self(z))
        if recordsForBackward { saved?.reLUOutput = y }
        return y
    }

    private func normalizeWithBatch(_ z: Tensor, reLU: Bool) throws -> Tensor {
        let (y, stats) = try batchNormTraining(z, gamma: weight.value, beta: bias.value, eps: eps, reLU: reLU)
        runningMean.value = try blend(runningMean.value, stats.mean)
        runningVar.value = try blend(runningVar.value, stats.unbiasedVariance)
        batchesTracked.value += 1
        saved = recordsForBackward ? (z, stats, reLU ? y : nil) : nil
        return y
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved else { throw NNError.noRecordedForward("BatchNorm2d") }
        saved = nil
        if let stats = s.statistics {
            let (dz, dGamma, dBeta) = try batchNormBackward(x: s.z, gradOutput: gradOutput, gamma: weight.value,
                                                            statistics: stats, reLUOutput: s.reLUOutput)
            try weight.accumulate(dGamma)
            try bias.accumulate(dBeta)
            return dz
        }
        let gradOutput = try s.reLUOutput.map { try activationBackward(.relu, gradOutput: gradOutput, output: $0) } ?? gradOutput
        // Running statistics: dz = dy·γ/σ, dγ = Σ dy·(z − μ)/σ, dβ = Σ dy.
        if weight.requiresGrad || bias.requiresGrad {
            let (dGamma, dBeta) = try ChannelReductions.affineGradients(
                z: s.z, gradOutput: gradOutput, mean: runningMean.value, variance: runningVar.value, eps: eps)
            try weight.accumulate(dGamma)
            try bias.accumulate(dBeta)
        }
        guard needsInputGradient else { return nil }
        let (scale, _) = try scaleShift()
        return try batchNormInference(gradOutput, scale: scale, shift: try Tensor(shape: scale.shape))
    }

    /// Evaluation-mode scale and shift per channel.
    public func scaleShift() throws -> (scale: Tensor, shift: Tensor) {
        try batchNormScaleShift(gamma: weight.value, beta: bias.value, runningMean: runningMean.value,
                                runningVar: runningVar.value, eps: eps)
    }

    /// Folds into a preceding convolution's weight and bias.
    func fold(convWeight: Tensor, convBias: Tensor?) throws -> (weight: Tensor, bias: Tensor) {
        try foldBatchNorm(convWeight: convWeight, convBias: convBias, gamma: weight.value, beta: bias.value,
                          runningMean: runningMean.value, runningVar: runningVar.value, eps: eps)
    }

    private func blend(_ running: Tensor, _ batch: Tensor) throws -> Tensor {
        try add(scaled(running, by: 1 - momentum), scaled(batch, by: momentum))
    }
}
