import GraftTensor

/// BatchNorm2d's state and arithmetic, used inside `ConvNormActivation` (every BatchNorm of the zoo
/// follows a convolution).
///
/// In evaluation it is an affine map from the running statistics and is folded into the convolution.
/// In training it either normalizes with batch statistics and updates the running ones as PyTorch does
/// (`running = (1 − momentum)·running + momentum·batch`, unbiased variance, `num_batches_tracked += 1`),
/// or — frozen by policy — keeps using the running statistics (`useBatchStatistics = false`).
public final class BatchNorm {
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Parameter
    public let runningVar: Parameter
    public let batchesTracked: Counter?
    public let eps: Float
    public let momentum: Float
    /// In training mode: normalize with batch statistics and update the running ones.
    public var useBatchStatistics = true

    public init(weight: Parameter, bias: Parameter, runningMean: Parameter, runningVar: Parameter,
                batchesTracked: Counter?, eps: Float, momentum: Float = 0.1) {
        self.weight = weight
        self.bias = bias
        self.runningMean = runningMean
        self.runningVar = runningVar
        self.batchesTracked = batchesTracked
        self.eps = eps
        self.momentum = momentum
    }

    public var parameters: [Parameter] { [weight, bias, runningMean, runningVar] }

    /// Versions of everything the folded form depends on.
    var versions: FoldVersions.Norm { .init(weight: weight.version, bias: bias.version, mean: runningMean.version, variance: runningVar.version) }

    /// Evaluation-mode scale and shift per channel.
    func scaleShift() throws -> (scale: Tensor, shift: Tensor) {
        try batchNormScaleShift(gamma: weight.value, beta: bias.value, runningMean: runningMean.value,
                                runningVar: runningVar.value, eps: eps)
    }

    /// Folds into a preceding convolution's weight and bias.
    func fold(convWeight: Tensor, convBias: Tensor?) throws -> (weight: Tensor, bias: Tensor) {
        try foldBatchNorm(convWeight: convWeight, convBias: convBias, gamma: weight.value, beta: bias.value,
                          runningMean: runningMean.value, runningVar: runningVar.value, eps: eps)
    }

    /// Training forward with batch statistics; updates the running statistics.
    func forwardTraining(_ z: Tensor) throws -> (output: Tensor, statistics: BatchNormStatistics) {
        let (y, stats) = try batchNormTraining(z, gamma: weight.value, beta: bias.value, eps: eps)
        let m = momentum
        runningMean.value = try blend(runningMean.value, stats.mean, m)
        runningVar.value = try blend(runningVar.value, stats.unbiasedVariance, m)
        batchesTracked?.value += 1
        return (y, stats)
    }

    private func blend(_ running: Tensor, _ batch: Tensor, _ m: Float) throws -> Tensor {
        try add(scaled(running, by: 1 - m), scaled(batch, by: m))
    }

    /// Backward through batch-statistics normalization; accumulates γ and β gradients.
    func backwardTraining(z: Tensor, gradOutput: Tensor, statistics: BatchNormStatistics) throws -> Tensor {
        let (dz, dGamma, dBeta) = try batchNormBackward(x: z, gradOutput: gradOutput, gamma: weight.value,
                                                         statistics: statistics)
        try weight.accumulate(dGamma)
        try bias.accumulate(dBeta)
        return dz
    }

    /// Backward through the running-statistics affine map (BatchNorm frozen by policy):
    /// dz = dy·γ/σ, dγ = Σ dy·(z − μ)/σ, dβ = Σ dy.
    func backwardFrozen(z: Tensor, gradOutput: Tensor, needInput: Bool) throws -> Tensor? {
        let (scale, _) = try scaleShift()
        if weight.requiresGrad || bias.requiresGrad {
            let (dGamma, dBeta) = try ChannelReductions.affineGradients(
                z: z, gradOutput: gradOutput, mean: runningMean.value, variance: runningVar.value, eps: eps)
            try weight.accumulate(dGamma)
            try bias.accumulate(dBeta)
        }
        guard needInput else { return nil }
        let zeros = try Tensor(shape: scale.shape)
        return try batchNormInference(gradOutput, scale: scale, shift: zeros)
    }
}
