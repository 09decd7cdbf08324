/// Depthwise convolution (groups == C, one k×k filter per channel): a direct vectorized kernel,
/// since as a GEMM each channel would be a 1-row matrix product.
///
/// Each task copies one input plane into a zero-padded scratch plane, so the inner loop needs no
/// bounds tests: for eight output columns at a time it accumulates `w[i, j] · x[row + i, col + j]`
/// over the taps, then adds the bias and applies the activation before the single store.
enum DepthwiseConv {
    /// The padded plane of one channel: `rows × stride` floats, with enough zero slack on the right
    /// for whole 8-wide (or 16-wide, stride 2) loads past the last output column.
    struct PaddedPlane {
        let rows: Int
        let stride: Int

        init(_ g: ConvGeometry) {
            rows = g.inH + g.padTop + g.padBottom
            let readWidth = ((g.outW + 7) / 8 * 8) * g.strideW + (g.kernelW - 1) * g.dilationW + 16
            stride = max(g.inW + g.padLeft + g.padRight, readWidth)
        }

        var count: Int { rows * stride }

        /// Copies one input plane into `dst` with zero borders.
        func fill(_ g: ConvGeometry, src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>) {
            dst.update(repeating: 0, count: g.padTop * stride)
            for r in 0..<g.inH {
                let row = dst + (g.padTop + r) * stride
                row.update(repeating: 0, count: g.padLeft)
                (row + g.padLeft).update(from: src + r * g.inW, count: g.inW)
                (row + g.padLeft + g.inW).update(repeating: 0, count: stride - g.padLeft - g.inW)
            }
            (dst + (g.padTop + g.inH) * stride).update(repeating: 0, count: g.padBottom * stride)
        }
    }

    static func forward(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, activation: Activation) {
        let plane = PaddedPlane(g)
        let taps = g.kernelH * g.kernelW
        let planes = g.batch * g.inChannels
        // Several small planes per task so a 7×7 stage does not pay one dispatch per channel.
        let perTask = max(1, min(64, 8192 / max(g.outPlane * taps, 1)))
        Parallel.forEach((planes + perTask - 1) / perTask) { task in
            let padded = Scratch.buffer(.plane, count: plane.count)
            for index in (task * perTask)..<min(planes, (task + 1) * perTask) {
                let c = index % g.inChannels
                plane.fill(g, src: x + index * g.inPlane, dst: padded)
                convolvePlane(g, plane: plane, padded: UnsafePointer(padded), filter: weight + c * taps,
                              bias: bias?[c] ?? 0, out: y + index * g.outPlane, activation: activation)
            }
        }
    }

    /// One channel: out[oh, ow] = act(bias + Σ_{i,j} w[i, j] · padded[oh·sH + i·dH, ow·sW + j·dW]).
    @inline(__always)
    static func convolvePlane(_ g: ConvGeometry, plane: PaddedPlane, padded: UnsafePointer<Float>,
                              filter: UnsafePointer<Float>, bias: Float, out: UnsafeMutablePointer<Float>,
                              activation: Activation) {
        let kh = g.kernelH, kw = g.kernelW, taps = kh * kw
        // Tap offsets within the padded plane, and the weights as splatted vectors.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: taps) { offsets in
            withUnsafeTemporaryAllocation(of: Vec8.self, capacity: taps) { weights in
                for i in 0..<kh {
                    for j in 0..<kw {
                        offsets[i * kw + j] = i * g.dilationH * plane.stride + j * g.dilationW
                        weights[i * kw + j] = Vec8(repeating: filter[i * kw + j])
                    }
                }
                let biasVector = Vec8(repeating: bias)
                for oh in 0..<g.outH {
                    let rowBase = padded + oh * g.strideH * plane.stride
                    let outRow = out + oh * g.outW
                    var ow = 0
                    while ow < g.outW {
                        let base = rowBase + ow * g.strideW
                        var acc = biasVector
                        switch g.strideW {
                        case 1:
                            for t in 0..<taps { acc += weights[t] * loadVec8(base + offsets[t]) }
                        case 2:
                            for t in 0..<taps {
                                let wide = UnsafeRawPointer(base + offsets[t]).loadUnaligned(as: SIMD16<Float>.self)
                                acc += weights[t] * wide.evenHalf
                            }
                        default:
                            for t in 0..<taps {
                                var v = Vec8()
                                for lane in 0..<8 { v[lane] = base[offsets[t] + lane * g.strideW] }
                                acc += weights[t] * v
                            }
                        }
                        acc = activated(acc, activation)
                        let valid = min(8, g.outW - ow)
                        if valid == 8 {
                            storeVec8(acc, outRow + ow)
                        } else {
                            for lane in 0..<valid { outRow[ow + lane] = acc[lane] }
                        }
                        ow += 8
                    }
                }
            }
        }
    }
}

/// An activation on one vector.
@inline(__always)
func activated(_ x: Vec8, _ activation: Activation) -> Vec8 {
    switch activation {
    case .none: return x
    case .relu: return Lanes.relu(x)
    case .relu6: return Lanes.relu6(x)
    case .silu: return FastMath.silu(x)
    case .sigmoid: return FastMath.sigmoid(x)
    }
}
