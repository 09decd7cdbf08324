import CPanelKernels

/// Gradients of the depthwise convolution, on the same zero-padded planes as the forward pass.
///
/// One task per channel: it owns that channel's filter gradient and its input-gradient planes of
/// every image, so nothing is shared between threads. (`conv2dBackward` takes ∂x of a stride-1 layer
/// as a forward convolution instead, `TransposedConvolution`; the scatter here serves the others.)
/// - `∂w[c, i, j] = Σ_n Σ_{oh, ow} ∂y[n, c, oh, ow] · xpad[oh·sH + i·dH, ow·sW + j·dW]`
/// - `∂xpad[oh·sH + i·dH, ow·sW + j·dW] += w[c, i, j] · ∂y[n, c, oh, ow]`, then cropped to ∂x.
enum DepthwiseConvBackward {
    static func run(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                    dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>) {
        let plane = DepthwiseConv.PaddedPlane(g)
        let taps = g.kernelH * g.kernelW
        Parallel.forEach(g.inChannels) { c in
            let padded = Scratch.buffer(.plane, count: plane.count)
            let gradPadded = Scratch.buffer(.planeGrad, count: plane.count)
            // The border stays zero: each image only rewrites the interior.
            padded.update(repeating: 0, count: plane.count)
            withUnsafeTemporaryAllocation(of: Double.self, capacity: taps) { filterGrad in
                filterGrad.initialize(repeating: 0)
                for n in 0..<g.batch {
                    let index = n * g.inChannels + c
                    plane.fillInterior(g, src: x + index * g.inPlane, dst: padded)
                    let dyPlane = dy + index * g.outPlane
                    if !DepthwiseConv.RowBlocked.filterGradient(g, plane, UnsafePointer(padded), dy: dyPlane,
                                                                into: filterGrad.baseAddress!) {
                        accumulateFilterGradient(g, plane: plane, padded: UnsafePointer(padded), dy: dyPlane,
                                                 into: filterGrad)
                    }
                    if let dx {
                        gradPadded.update(repeating: 0, count: plane.count)
                        scatterInputGradient(
                            g, plane: plane, filter: weight + c * taps, dy: dyPlane, into: gradPadded)
                        let dxPlane = dx + index * g.inPlane
                        for r in 0..<g.inH {
                            dxPlane.advanced(by: r * g.inW).update(
                                from: gradPadded + (g.padTop + r) * plane.stride + g.padLeft, count: g.inW)
                        }
                    }
                }
                for t in 0..<taps { dw[c * taps + t] = Float(filterGrad[t]) }
            }
        }
    }

    /// Adds one image's contribution to the channel's filter gradient (per-row partial sums in
    /// float vectors, accumulated across rows in Double): for what `RowBlocked.filterGradient` does
    /// not take.
    static func accumulateFilterGradient(_ g: ConvGeometry, plane: DepthwiseConv.PaddedPlane,
                                         padded: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                         into grad: UnsafeMutableBufferPointer<Double>) {
        for i in 0..<g.kernelH {
            for j in 0..<g.kernelW {
                let tapOffset = i * g.dilationH * plane.stride + j * g.dilationW
                var total = 0.0
                for oh in 0..<g.outH {
                    let src = padded + oh * g.strideH * plane.stride + tapOffset
                    let grad = dy + oh * g.outW
                    var acc = Vec8()
                    var ow = 0
                    if g.strideW == 1 {
                        while ow + 8 <= g.outW {
                            acc += loadVec8(grad + ow) * loadVec8(src + ow)
                            ow += 8
                        }
                    } else if g.strideW == 2 {
                        while ow + 8 <= g.outW {
                            let wide = UnsafeRawPointer(src + 2 * ow).loadUnaligned(as: SIMD16<Float>.self)
                            acc += loadVec8(grad + ow) * wide.evenHalf
                            ow += 8
                        }
                    }
                    var rowTotal = acc.sum()
                    while ow < g.outW {
                        rowTotal += grad[ow] * src[ow * g.strideW]
                        ow += 1
                    }
                    total += Double(rowTotal)
                }
                grad[i * g.kernelW + j] += total
            }
        }
    }

    /// Scatters `w · ∂y` of one image onto the zeroed padded gradient plane.
    static func scatterInputGradient(
        _ g: ConvGeometry, plane: DepthwiseConv.PaddedPlane, filter: UnsafePointer<Float>,
                                     dy: UnsafePointer<Float>, into grad: UnsafeMutablePointer<Float>) {
        for oh in 0..<g.outH {
            let gradRow = dy + oh * g.outW
            for i in 0..<g.kernelH {
                let dstRow = grad + (oh * g.strideH + i * g.dilationH) * plane.stride
                for j in 0..<g.kernelW {
                    let w = filter[i * g.kernelW + j]
                    let dst = dstRow + j * g.dilationW
                    if g.strideW == 1 {
                        let wv = Vec8(repeating: w)
                        var ow = 0
                        while ow + 8 <= g.outW {
                            storeVec8(loadVec8(dst + ow) + wv * loadVec8(gradRow + ow), dst + ow)
                            ow += 8
                        }
                        while ow < g.outW {
                            dst[ow] += w * gradRow[ow]
                            ow += 1
                        }
                    } else {
                        for ow in 0..<g.outW { dst[ow * g.strideW] += w * gradRow[ow] }
                    }
                }
            }
        }
    }
}

extension DepthwiseConv.RowBlocked {
    /// Adds one image's filter gradient of one channel to `grad` on CPanelKernels' kernel for square
    /// undilated filters, 3×3, 5×5 and 7×7 at stride 1 and 3×3, 5×5 at stride 2 (each vector of ∂y
    /// loaded once per filter row, not once per tap; partial sums of at most 8 rows in float, then
    /// Double); false for anything else.
    static func filterGradient(_ g: ConvGeometry, _ plane: DepthwiseConv.PaddedPlane, _ padded: UnsafePointer<Float>,
                               dy: UnsafePointer<Float>, into grad: UnsafeMutablePointer<Double>) -> Bool {
        let k = g.kernelH
        guard isAvailable, g.kernelW == k, g.strideH == g.strideW, g.dilationH == 1, g.dilationW == 1 else { return false }
        let kernel = avx512 ? graft_depthwise_rows4_avx512_filter_grad : graft_depthwise_rows4_avx2_filter_grad
        return kernel(padded, plane.stride, dy, k, g.strideH, g.outW, g.outH, grad) != 0
    }
}
