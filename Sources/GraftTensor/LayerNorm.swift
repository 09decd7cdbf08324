/// LayerNorm over the channels of an NCHW tensor at every pixel — ConvNeXt's `LayerNorm2d` and the
/// channels-last `nn.LayerNorm(C)` of its blocks, computed without a permute:
/// `y = (x − μ) / √(σ² + eps) · γ + β`, μ and σ² (biased) over C for each (n, h, w).
///
/// Channels are the outer loop and pixels the inner one, so every pass reads contiguous runs of a plane.
public struct LayerNormStatistics: Sendable {
    /// Per (n, pixel): the mean and 1/√(σ² + eps), `[N · H · W]`.
    public let mean: [Float]
    public let rstd: [Float]
}

public func layerNormChannels(_ x: Tensor, gamma: Tensor, beta: Tensor, eps: Float) throws
    -> (output: Tensor, statistics: LayerNormStatistics)
{
    try checkRank("layerNormChannels", "x (N, C, H, W)", x, 4)
    let n = x.shape[0], c = x.shape[1], plane = x.shape[2] * x.shape[3]
    try checkShape("layerNormChannels", "gamma", gamma, [c])
    try checkShape("layerNormChannels", "beta", beta, [c])
    var out = Tensor(kernelShape: x.shape)
    let dst = out.mutablePointer()
    var means = [Float](repeating: 0, count: n * plane), rstds = [Float](repeating: 0, count: n * plane)
    // Pieces of at most 512 pixels of one image, so batch 1 splits across threads too, as many as
    // the threads divide (a 56×56 plane in 7 pieces left one thread the last one alone); each pixel's sums run
    // over the channels in the same order whatever the split.
    let pieces = Parallel.evenCount((plane + 511) / 512, outer: n, limit: plane)
    let block = max(16, ((plane + pieces - 1) / max(pieces, 1) + 15) / 16 * 16), blocksPerImage = (plane + block - 1) / block
    withExtendedLifetime((x, gamma, beta)) {
        let src = x.pointer, g = gamma.pointer, b = beta.pointer
        means.withUnsafeMutableBufferPointer { mp in
        rstds.withUnsafeMutableBufferPointer { rp in
            let meanBase = mp.baseAddress!, rstdBase = rp.baseAddress!
            Parallel.forRanges(n * blocksPerImage, grain: 1) { range in
                var sum = [Double](repeating: 0, count: block), sq = [Double](repeating: 0, count: block)
                for piece in range {
                    let i = piece / blocksPerImage, start = (piece % blocksPerImage) * block
                    let count = min(block, plane - start)
                    let base = src + i * c * plane + start
                    for p in 0..<count { sum[p] = 0; sq[p] = 0 }
                    for ch in 0..<c {
                        let row = base + ch * plane
                        for p in 0..<count { let v = Double(row[p]); sum[p] += v; sq[p] += v * v }
                    }
                    let m = meanBase + i * plane + start, r = rstdBase + i * plane + start
                    for p in 0..<count {
                        let mean = sum[p] / Double(c)
                        let variance = max(sq[p] / Double(c) - mean * mean, 0)
                        m[p] = Float(mean)
                        r[p] = Float(1 / (variance + Double(eps)).squareRoot())
                    }
                    for ch in 0..<c {
                        let row = base + ch * plane, o = dst + (i * c + ch) * plane + start, gc = g[ch], bc = b[ch]
                        for p in 0..<count { o[p] = (row[p] - m[p]) * r[p] * gc + bc }
                    }
                }
            }
        }
        }
    }
    return (out, LayerNormStatistics(mean: means, rstd: rstds))
}

/// Gradients of `layerNormChannels`: dx = rstd·(dŷ − mean_C(dŷ) − x̂·mean_C(dŷ·x̂)) with dŷ = dy·γ,
/// dγ = Σ dy·x̂ and dβ = Σ dy over N, H, W.
public func layerNormChannelsBackward(x: Tensor, gradOutput dy: Tensor, gamma: Tensor, statistics s: LayerNormStatistics,
                                      inputGradient: Bool = true) throws -> (input: Tensor?, gamma: Tensor, beta: Tensor) {
    try checkRank("layerNormChannelsBackward", "x (N, C, H, W)", x, 4)
    try checkShape("layerNormChannelsBackward", "gradOutput", dy, x.shape)
    let n = x.shape[0], c = x.shape[1], plane = x.shape[2] * x.shape[3]
    var dx = inputGradient ? Tensor(kernelShape: x.shape) : nil
    let dxp = dx?.mutablePointer()
    var dGamma = [Double](repeating: 0, count: c), dBeta = [Double](repeating: 0, count: c)
    withExtendedLifetime((x, dy, gamma)) {
        let xp = x.pointer, gp = dy.pointer, g = gamma.pointer
        var a = [Float](repeating: 0, count: plane), b = [Float](repeating: 0, count: plane)
        for i in 0..<n {
            let m = s.mean, r = s.rstd, off = i * plane
            for p in 0..<plane { a[p] = 0; b[p] = 0 }
            for ch in 0..<c {
                let xr = xp + (i * c + ch) * plane, gr = gp + (i * c + ch) * plane, gc = g[ch]
                var sg = 0.0, sb = 0.0
                for p in 0..<plane {
                    let xhat = (xr[p] - m[off + p]) * r[off + p]
                    let dyhat = gr[p] * gc
                    a[p] += dyhat
                    b[p] += dyhat * xhat
                    sg += Double(gr[p] * xhat)
                    sb += Double(gr[p])
                }
                dGamma[ch] += sg
                dBeta[ch] += sb
            }
            guard let dxp else { continue }
            let inv = 1 / Float(c)
            for ch in 0..<c {
                let xr = xp + (i * c + ch) * plane, gr = gp + (i * c + ch) * plane, o = dxp + (i * c + ch) * plane, gc = g[ch]
                for p in 0..<plane {
                    let xhat = (xr[p] - m[off + p]) * r[off + p]
                    o[p] = r[off + p] * (gr[p] * gc - a[p] * inv - xhat * b[p] * inv)
                }
            }
        }
    }
    return (dx, try Tensor(shape: [c], values: dGamma.map(Float.init)), try Tensor(shape: [c], values: dBeta.map(Float.init)))
}

/// LayerNorm of `rows` contiguous rows of `width` floats — a channels-last map, one row per pixel —
/// in `layerNormChannels`' arithmetic: mean and (biased) variance in Double, then
/// `(x − mean) · rstd · γ + β` in float. `src` may equal `dst`. Runs on the calling thread: engines
/// with thread pools of their own split the rows.
public func layerNormRows(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, rows: Int, width c: Int,
                          gamma: [Float], beta: [Float], eps: Float) {
    for p in 0..<rows {
        let row = src + p * c, out = dst + p * c
        var sum = 0.0, squares = 0.0
        for ch in 0..<c {
            let v = Double(row[ch])
            sum += v
            squares += v * v
        }
        let mean = sum / Double(c)
        let variance = max(squares / Double(c) - mean * mean, 0)
        let (m, r) = (Float(mean), Float(1 / (variance + Double(eps)).squareRoot()))
        for ch in 0..<c { out[ch] = (row[ch] - m) * r * gamma[ch] + beta[ch] }
    }
}
