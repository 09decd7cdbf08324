import GraftCore

/// A seeded, reproducible random generator (xoshiro256**, state seeded through SplitMix64) for
/// dropout masks, shuffling and initialization: the same seed gives the same stream everywhere.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose stream is determined by `seed`.
    public init(seed: UInt64) {
        var x = SplitMix64(seed: seed)
        s0 = x.next(); s1 = x.next(); s2 = x.next(); s3 = x.next()
    }

    /// The four state words, so a stopped run can continue the same stream (training checkpoints).
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// A generator that continues from `state` (four words, as `state` returns them).
    public init?(state: [UInt64]) {
        // xoshiro's all-zero state is a fixed point: never a state a seeded generator reaches.
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        s0 = state[0]; s1 = state[1]; s2 = state[2]; s3 = state[3]
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 24 random bits (every value exactly representable).
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1 / 16_777_216)
    }
}

/// Dropout: in training, zeroes each element with probability `p` and scales the survivors by
/// 1 / (1 − p); in evaluation (or with p = 0) it is the identity and returns no mask.
/// - Returns: the output and the mask (0 or 1 / (1 − p) per element) for `dropoutBackward`.
public func dropout(
    _ x: Tensor, probability p: Float, training: Bool, generator: inout SeededGenerator
) throws -> (output: Tensor, mask: Tensor?) {
    try checkProbability("dropout", p)
    guard training, p > 0 else { return (x, nil) }
    let mask = keepFactors(shape: x.shape, dropping: p, &generator)
    return (elementwise(x, mask) { $0 * $1 }, mask)
}

/// Gradient of `dropout`: ∂x = ∂y ⊙ mask (∂y itself when the forward pass returned no mask).
public func dropoutBackward(gradOutput: Tensor, mask: Tensor?) throws -> Tensor {
    guard let mask else { return gradOutput }
    try checkShape("dropoutBackward", "mask", mask, gradOutput.shape)
    return elementwise(gradOutput, mask) { $0 * $1 }
}

/// Stochastic depth in torchvision's "row" mode: in training, each sample's whole residual branch
/// is kept with probability 1 − p and then scaled by 1 / (1 − p); identity in evaluation.
/// - Returns: the output and the per-sample factors (N) for `stochasticDepthBackward`.
public func stochasticDepth(
    _ x: Tensor, probability p: Float, training: Bool, generator: inout SeededGenerator
) throws -> (output: Tensor, keep: Tensor?) {
    try checkProbability("stochasticDepth", p)
    guard training, p > 0 else { return (x, nil) }
    guard x.rank >= 1, x.shape[0] >= 1 else { throw TensorError.invalidShape(op: "stochasticDepth", shape: x.shape) }
    let n = x.shape[0]
    let keep = keepFactors(shape: [n], dropping: p, &generator)
    return (try scaleRows(x, keep), keep)
}

/// Gradient of `stochasticDepth`: ∂x[n] = ∂y[n] · keep[n].
public func stochasticDepthBackward(gradOutput: Tensor, keep: Tensor?) throws -> Tensor {
    guard let keep else { return gradOutput }
    return try scaleRows(gradOutput, keep)
}

/// `x[n, …] · factors[n]`.
private func scaleRows(_ x: Tensor, _ factors: Tensor) throws -> Tensor {
    guard x.rank >= 1, factors.shape == [x.shape[0]] else {
        throw TensorError.shapeMismatch(op: "stochasticDepth", detail: "factors \(factors.shape) for \(x.shape)")
    }
    let n = x.shape[0], row = x.count / max(n, 1)
    var out = Tensor(kernelShape: x.shape)
    let dst = out.mutablePointer()
    withExtendedLifetime((x, factors)) {
        let src = x.pointer, f = factors.pointer
        for i in 0..<n {
            let k = f[i]
            map(src + i * row, dst + i * row, row) { $0 * k }
        }
    }
    return out
}

/// One draw per element: 1 / (1 − p) where the element survives (probability 1 − p), else 0.
private func keepFactors(shape: [Int], dropping p: Float, _ generator: inout SeededGenerator) -> Tensor {
    var factors = Tensor(kernelShape: shape)
    let f = factors.mutablePointer()
    let keep = 1 - p, scale = p < 1 ? 1 / keep : 0
    for i in 0..<factors.count { f[i] = generator.nextUnitFloat() < keep ? scale : 0 }
    return factors
}

private func checkProbability(_ op: String, _ p: Float) throws {
    guard p >= 0, p <= 1 else {
        throw TensorError.invalidArgument(op: op, detail: "probability \(p) is outside [0, 1]")
    }
}
