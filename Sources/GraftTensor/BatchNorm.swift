// Batch normalization over (N, C, …): statistics per channel across the batch and every position.
// Inputs of rank ≥ 2 are read as (N, C, rest…), so (N, C) (BatchNorm1d) and NCHW both work.

/// What `batchNormTraining` measured, for the backward pass and the running-statistics update.
public struct BatchNormStatistics: Equatable {
    /// Per-channel batch mean (C).
    public var mean: Tensor
    /// Per-channel 1 / sqrt(biased variance + eps) (C), the factor the output was normalized with.
    public var invStd: Tensor
    /// Per-channel biased batch variance (C), Σ(x − mean)² / count.
    public var variance: Tensor
    /// Values per channel (N · H · W).
    public var count: Int

    /// The unbiased variance Σ(x − mean)² / (count − 1) that torch folds into `running_var`
    /// (equal to the biased one when count is 1, where torch would refuse to train).
    public var unbiasedVariance: Tensor {
        let factor = count > 1 ? Float(Double(count) / Double(count - 1)) : 1
        return scaled(variance, by: factor)
    }
}

/// Eval-mode batch norm as an affine map: `y[n, c, …] = act(x · scale[c] + shift[c])`.
public func batchNormInference(
    _ x: Tensor, scale: Tensor, shift: Tensor, activation kind: Activation = .none) throws -> Tensor {
    let (n, c, plane) = try normShapes("batchNormInference", x)
    try checkShape("batchNormInference", "scale", scale, [c])
    try checkShape("batchNormInference", "shift", shift, [c])
    var out = Tensor(kernelShape: x.shape)
    let dst = out.mutablePointer()
    withExtendedLifetime((x, scale, shift)) {
        let src = x.pointer, sc = scale.pointer, sh = shift.pointer
        Parallel.forRanges(n * c, grain: max(1, 16384 / max(plane, 1))) { r in
            let inline = ActivationKernels.inline(kind)
            for row in r {
                let k = sc[row % c], b = sh[row % c]
                map(src + row * plane, dst + row * plane, plane) { activated($0 * k + b, inline) }
                ActivationKernels.finish(kind, dst + row * plane, plane)
            }
        }
    }
    return out
}

/// The eval affine factors `scale = γ / sqrt(var + eps)` and `shift = β − mean · scale`, in Double.
public func batchNormScaleShift(
    gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, eps: Float
) throws -> (scale: Tensor, shift: Tensor) {
    let c = gamma.count
    for (name, t) in [("gamma", gamma), ("beta", beta), ("runningMean", runningMean), ("runningVar", runningVar)] {
        try checkShape("batchNormScaleShift", name, t, [c])
    }
    let g = gamma.values, b = beta.values, m = runningMean.values, v = runningVar.values
    var scale = [Float](repeating: 0, count: c), shift = scale
    for i in 0..<c {
        let s = Double(g[i]) / (Double(v[i]) + Double(eps)).squareRoot()
        scale[i] = Float(s)
        shift[i] = Float(Double(b[i]) - Double(m[i]) * s)
    }
    return (try Tensor(shape: [c], values: scale), try Tensor(shape: [c], values: shift))
}

/// Folds an eval-mode BatchNorm that follows a convolution into the convolution itself:
/// `w'[o] = w[o] · γ[o] / sqrt(var[o] + eps)` and `b' = (b − mean) · γ / sqrt(var + eps) + β`,
/// computed in Double and rounded once.
/// - Parameters:
///   - convWeight: (O, …) — any rank, the first dimension is the output channel.
///   - convBias: (O), or nil for a bias-free convolution.
public func foldBatchNorm(
    convWeight: Tensor, convBias: Tensor?, gamma: Tensor, beta: Tensor,
    runningMean: Tensor, runningVar: Tensor, eps: Float
) throws -> (weight: Tensor, bias: Tensor) {
    guard convWeight.rank >= 1, convWeight.shape[0] >= 1 else {
        throw TensorError.invalidShape(op: "foldBatchNorm", shape: convWeight.shape)
    }
    let o = convWeight.shape[0]
    for (name, t) in [("gamma", gamma), ("beta", beta), ("runningMean", runningMean), ("runningVar", runningVar)] {
        try checkShape("foldBatchNorm", name, t, [o])
    }
    if let convBias { try checkShape("foldBatchNorm", "convBias", convBias, [o]) }
    let per = convWeight.count / o
    let g = gamma.values, b = beta.values, m = runningMean.values, v = runningVar.values
    let bias0 = convBias?.values ?? [Float](repeating: 0, count: o)
    var w = convWeight.values
    var bias = [Float](repeating: 0, count: o)
    for i in 0..<o {
        let s = Double(g[i]) / (Double(v[i]) + Double(eps)).squareRoot()
        for j in (i * per)..<((i + 1) * per) { w[j] = Float(Double(w[j]) * s) }
        bias[i] = Float((Double(bias0[i]) - Double(m[i])) * s + Double(b[i]))
    }
    return (try Tensor(shape: convWeight.shape, values: w), try Tensor(shape: [o], values: bias))
}

/// Training-mode batch norm: normalizes with this batch's mean and biased variance.
/// - Returns: `γ · (x − mean) · invStd + β` and the statistics (see `BatchNormStatistics`).
///
/// `reLU` applies max(·, 0) in the same pass (ResNet's `relu(bn(conv(x)))` in training: one pass over
/// the activation instead of two); `batchNormBackward(…, reLUOutput:)` is its gradient.
public func batchNormTraining(
    _ x: Tensor, gamma: Tensor, beta: Tensor, eps: Float, reLU: Bool = false
) throws -> (output: Tensor, statistics: BatchNormStatistics) {
    let (n, c, plane) = try normShapes("batchNormTraining", x)
    try checkShape("batchNormTraining", "gamma", gamma, [c])
    try checkShape("batchNormTraining", "beta", beta, [c])
    var out = Tensor(kernelShape: x.shape)
    var mean = Tensor(kernelShape: [c]), invStd = Tensor(kernelShape: [c]), variance = Tensor(kernelShape: [c])
    let dst = out.mutablePointer()
    let mp = mean.mutablePointer(), ip = invStd.mutablePointer(), vp = variance.mutablePointer()
    let count = n * plane
    withExtendedLifetime((x, gamma, beta)) {
        let src = x.pointer, gp = gamma.pointer, bp = beta.pointer
        Parallel.forRanges(c, grain: max(1, 32768 / max(count, 1))) { r in
            for ch in r {
                // Two passes in Double: the mean, then Σ(x − mean)² (no cancellation).
                var total = 0.0
                for i in 0..<n { total += Double(sum(src + (i * c + ch) * plane, plane)) }
                let mu = total / Double(count)
                var squares = 0.0
                for i in 0..<n { squares += centredSquares(src + (i * c + ch) * plane, plane, Float(mu)) }
                let v = squares / Double(count)
                let inv = 1 / (v + Double(eps)).squareRoot()
                mp[ch] = Float(mu)
                vp[ch] = Float(v)
                ip[ch] = Float(inv)
                let k = Float(Double(gp[ch]) * inv), b = Float(Double(bp[ch]) - mu * Double(gp[ch]) * inv)
                for i in 0..<n {
                    let row = (i * c + ch) * plane
                    if reLU {
                        map(src + row, dst + row, plane) { Lanes.relu($0 * k + b) }
                    } else {
                        map(src + row, dst + row, plane) { $0 * k + b }
                    }
                }
            }
        }
    }
    return (out, BatchNormStatistics(mean: mean, invStd: invStd, variance: variance, count: count))
}

/// Gradients of `batchNormTraining`, with x̂ = (x − mean) · invStd and M values per channel:
/// `∂β = Σ ∂y`, `∂γ = Σ ∂y · x̂`, `∂x = γ · invStd / M · (M · ∂y − ∂β − x̂ · ∂γ)`.
///
/// With `reLUOutput` (the output of `batchNormTraining(…, reLU: true)`), `gradOutput` is the gradient
/// of that ReLU's output, and ∂y = gradOutput where reLUOutput > 0, else 0 (ReLU's own backward),
/// applied on the fly instead of in a pass of its own.
public func batchNormBackward(
    x: Tensor, gradOutput: Tensor, gamma: Tensor, statistics: BatchNormStatistics, reLUOutput: Tensor? = nil
) throws -> (input: Tensor, gamma: Tensor, beta: Tensor) {
    let (n, c, plane) = try normShapes("batchNormBackward", x)
    try checkShape("batchNormBackward", "gradOutput", gradOutput, x.shape)
    try checkShape("batchNormBackward", "gamma", gamma, [c])
    try checkShape("batchNormBackward", "statistics.mean", statistics.mean, [c])
    try checkShape("batchNormBackward", "statistics.invStd", statistics.invStd, [c])
    if let reLUOutput { try checkShape("batchNormBackward", "reLUOutput", reLUOutput, x.shape) }
    var dx = Tensor(kernelShape: x.shape)
    var dgamma = Tensor(kernelShape: [c]), dbeta = Tensor(kernelShape: [c])
    let dxp = dx.mutablePointer(), dgp = dgamma.mutablePointer(), dbp = dbeta.mutablePointer()
    let m = Double(n * plane)
    withExtendedLifetime((x, gradOutput, gamma, statistics, reLUOutput)) {
        let xp = x.pointer, dy = gradOutput.pointer, gp = gamma.pointer, yp = reLUOutput?.pointer
        let meanp = statistics.mean.pointer, invp = statistics.invStd.pointer
        Parallel.forRanges(c, grain: max(1, 32768 / max(n * plane, 1))) { r in
            for ch in r {
                let mu = meanp[ch], inv = invp[ch]
                var sumDy = 0.0, sumDyXhat = 0.0
                for i in 0..<n {
                    let row = (i * c + ch) * plane
                    let (g, gx) = yp.map { sumAndDotCentred(dy + row, xp + row, plane, mu, passedBy: $0 + row) }
                        ?? sumAndDotCentred(dy + row, xp + row, plane, mu)
                    sumDy += Double(g)
                    sumDyXhat += Double(gx) * Double(inv)
                }
                dbp[ch] = Float(sumDy)
                dgp[ch] = Float(sumDyXhat)
                // ∂x = a·∂y − b·x̂ − c0, folded into ∂x = k·∂y + q·x + r.
                let scale = Double(gp[ch]) * Double(inv)
                let k = Float(scale)
                let q = Float(-scale * sumDyXhat / m * Double(inv))
                let r = Float(-scale * sumDy / m + scale * sumDyXhat / m * Double(inv) * Double(mu))
                for i in 0..<n {
                    let row = (i * c + ch) * plane
                    if let yp {
                        map3(dy + row, xp + row, yp + row, dxp + row, plane) { g, v, y in Lanes.reluGradient(g, y) * k + v * q + r }
                    } else {
                        map2(dy + row, xp + row, dxp + row, plane) { g, v in g * k + v * q + r }
                    }
                }
            }
        }
    }
    return (dx, dgamma, dbeta)
}

private func normShapes(_ op: String, _ x: Tensor) throws -> (Int, Int, Int) {
    guard x.rank >= 2, x.shape[1] >= 1 else {
        throw TensorError.rankMismatch(op: op, operand: "x (N, C, …)", expected: 4, shape: x.shape)
    }
    try checkKernelSize(op: op, shapes: [x.shape])
    return (x.shape[0], x.shape[1], x.shape.dropFirst(2).reduce(1, *))
}

/// Σ (p[i] − mean)² in Double (float vector partials per 8 lanes).
private func centredSquares(_ p: UnsafePointer<Float>, _ count: Int, _ mean: Float) -> Double {
    var acc = Vec8()
    let m = Vec8(repeating: mean)
    var i = 0
    while i + 8 <= count {
        let d = loadVec8(p + i) - m
        acc += d * d
        i += 8
    }
    var total = Double(acc.sum())
    while i < count {
        let d = Double(p[i]) - Double(mean)
        total += d * d
        i += 1
    }
    return total
}

/// (Σ g[i], Σ g[i] · (x[i] − mean)) in one pass.
/// The same for the gradient of a ReLU output `y` taken back through the ReLU (g where y > 0, else 0).
private func sumAndDotCentred(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ count: Int,
                              _ mean: Float, passedBy y: UnsafePointer<Float>) -> (Float, Float) {
    var sumG = Vec8(), dot = Vec8()
    let m = Vec8(repeating: mean)
    var i = 0
    while i + 8 <= count {
        let gv = Lanes.reluGradient(loadVec8(g + i), loadVec8(y + i))
        sumG += gv
        dot += gv * (loadVec8(x + i) - m)
        i += 8
    }
    var s = sumG.sum(), d = dot.sum()
    while i < count {
        let gi = y[i] > 0 ? g[i] : 0
        s += gi
        d += gi * (x[i] - mean)
        i += 1
    }
    return (s, d)
}

private func sumAndDotCentred(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ count: Int,
                              _ mean: Float) -> (Float, Float) {
    var sumG = Vec8(), dot = Vec8()
    let m = Vec8(repeating: mean)
    var i = 0
    while i + 8 <= count {
        let gv = loadVec8(g + i)
        sumG += gv
        dot += gv * (loadVec8(x + i) - m)
        i += 8
    }
    var s = sumG.sum(), d = dot.sum()
    while i < count {
        s += g[i]
        d += g[i] * (x[i] - mean)
        i += 1
    }
    return (s, d)
}
