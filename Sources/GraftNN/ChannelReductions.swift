import GraftTensor

/// Per-channel reductions over N, H, W of NCHW tensors that the kernels do not provide.
enum ChannelReductions {
    /// dγ[c] = Σ dy·(z − μ[c])/σ[c] and dβ[c] = Σ dy, with σ = sqrt(var + eps). Accumulated in Double.
    static func affineGradients(z: Tensor, gradOutput dy: Tensor, mean: Tensor, variance: Tensor, eps: Float) throws
        -> (gamma: Tensor, beta: Tensor)
    {
        let shape = z.shape
        let n = shape[0], c = shape[1], plane = shape.dropFirst(2).reduce(1, *)
        let mu = mean.values, v = variance.values
        var dGamma = [Float](repeating: 0, count: c), dBeta = [Float](repeating: 0, count: c)
        z.withUnsafeBufferPointer { zp in
        dy.withUnsafeBufferPointer { gp in
        dGamma.withUnsafeMutableBufferPointer { dg in
        dBeta.withUnsafeMutableBufferPointer { db in
            // Channels are independent and each is summed in the same order: split them across cores.
            Parallel.forRanges(c, grain: max(1, 16384 / max(n * plane, 1))) { channels in
                for ch in channels {
                    let invStd = 1 / Double(v[ch] + eps).squareRoot()
                    var sg = 0.0, sb = 0.0
                    for i in 0..<n {
                        let base = (i * c + ch) * plane
                        for j in 0..<plane {
                            let g = Double(gp[base + j])
                            sg += g * (Double(zp[base + j]) - Double(mu[ch]))
                            sb += g
                        }
                    }
                    dg[ch] = Float(sg * invStd)
                    db[ch] = Float(sb)
                }
            }
        }
        }
        }
        }
        return (try Tensor(shape: [c], values: dGamma), try Tensor(shape: [c], values: dBeta))
    }
}
