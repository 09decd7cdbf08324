import CPanelKernels

/// Max pooling that also returns the argmax of every window, exactly as torch's CPU kernel:
/// the first maximum in row-major window order wins, NaN beats everything.
public func maxPool2dWithIndices(_ x: Tensor, _ params: Pool2dParams) throws -> MaxPoolResult {
    let g = try PoolGeometry(op: "maxPool2dWithIndices", shape: x.shape, params)
    if params.dilationH == 1 && params.dilationW == 1 && params.strideW <= 2 {
        return vectorArgmaxPool(x, g)
    }
    return scalarArgmaxPool(x, g)
}

/// Any geometry, one window at a time.
private func scalarArgmaxPool(_ x: Tensor, _ g: PoolGeometry) -> MaxPoolResult {
    let p = g.p
    var out = Tensor(kernelShape: [x.shape[0], x.shape[1], g.outH, g.outW])
    var indices = [Int32](repeating: 0, count: out.count)
    let dst = out.mutablePointer()
    indices.withUnsafeMutableBufferPointer { idx in
        guard let idx = idx.baseAddress else { return }
        withExtendedLifetime(x) {
            let src = x.pointer
            // Sizes as locals: read through the captured struct they would be reloaded after
            // every store (the output pointers might alias it as far as the compiler knows).
            let inH = g.inH, inW = g.inW, outH = g.outH, outW = g.outW
            let sH = p.strideH, sW = p.strideW, padH = p.padH, padW = p.padW
            let dH = p.dilationH, dW = p.dilationW, kH = p.kernelH, kW = p.kernelW
            Parallel.forRanges(g.planes, grain: max(1, 4096 / max(outH * outW, 1))) { planes in
                for plane in planes {
                    let input = src + plane * inH * inW
                    let values = dst + plane * outH * outW
                    let argmax = idx + plane * outH * outW
                    for oh in 0..<outH {
                        var h0 = oh * sH - padH
                        let h1 = min(h0 + (kH - 1) * dH + 1, inH)
                        while h0 < 0 { h0 += dH }
                        for ow in 0..<outW {
                            var w0 = ow * sW - padW
                            let w1 = min(w0 + (kW - 1) * dW + 1, inW)
                            while w0 < 0 { w0 += dW }
                            var best = -Float.infinity
                            // An all-padding window (possible only with dilation) keeps −∞ and -1.
                            var bestIndex = h0 < h1 && w0 < w1 ? h0 * inW + w0 : -1
                            var ih = h0
                            while ih < h1 {
                                let row = input + ih * inW
                                var iw = w0
                                while iw < w1 {
                                    let v = row[iw]
                                    // Greater, or NaN: torch lets a NaN win (and later ones
                                    // replace it, as here). Selects, not branches: on real data
                                    // the comparison is a coin flip the predictor keeps missing.
                                    let take = v > best || v != v
                                    best = take ? v : best
                                    bestIndex = take ? ih * inW + iw : bestIndex
                                    iw += dW
                                }
                                ih += dH
                            }
                            values[oh * outW + ow] = best
                            argmax[oh * outW + ow] = Int32(truncatingIfNeeded: bestIndex)
                        }
                    }
                }
            }
        }
    }
    return MaxPoolResult(output: out, indices: indices)
}

/// Undilated windows with horizontal stride 1 or 2: a row's outputs a vector at a time (CPanelKernels'
/// kernel at the CPU's width, 16 or 8; the Swift loop below, 8, on CPUs with neither). The rows
/// under the window are copied between −∞ borders (padding never wins a strict `>`), and every
/// tap updates the lanes' running maximum and its flat index with selects, in torch's window
/// order, so ties keep the first maximum and a NaN wins.
private func vectorArgmaxPool(_ x: Tensor, _ g: PoolGeometry) -> MaxPoolResult {
    let p = g.p
    var out = Tensor(kernelShape: [x.shape[0], x.shape[1], g.outH, g.outW])
    var indices = [Int32](repeating: 0, count: out.count)
    let dst = out.mutablePointer()
    let inH = g.inH, inW = g.inW, outH = g.outH, outW = g.outW
    let sH = p.strideH, sW = p.strideW, padH = p.padH, padW = p.padW, kH = p.kernelH, kW = p.kernelW
    let rowWidth = g.paddedRowWidth
    indices.withUnsafeMutableBufferPointer { idx in
        guard let idx = idx.baseAddress else { return }
        withExtendedLifetime(x) {
            let src = x.pointer
            let isa = KernelISA.current
            Parallel.forRanges(g.planes, grain: max(1, 4096 / max(outH * outW, 1))) { planes in
                let rows = Scratch.buffer(.plane, count: kH * rowWidth)
                rows.update(repeating: -.infinity, count: kH * rowWidth)
                // For CPanelKernels' kernel: each window row's padded copy and the flat index of its column 0.
                let rowStarts = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: kH)
                let rowIndices = UnsafeMutablePointer<Int32>.allocate(capacity: kH)
                defer { rowStarts.deallocate(); rowIndices.deallocate() }
                for i in 0..<kH { rowStarts[i] = UnsafePointer(rows + i * rowWidth) }
                let lane = SIMD4<Int32>(0, 1, 2, 3)
                for plane in planes {
                    let input = src + plane * inH * inW
                    let values = dst + plane * outH * outW
                    let argmax = idx + plane * outH * outW
                    for oh in 0..<outH {
                        let top = oh * sH - padH
                        for i in 0..<kH {
                            let body = rows + i * rowWidth + padW
                            let ih = top + i
                            if ih >= 0 && ih < inH {
                                body.update(from: input + ih * inW, count: inW)
                            } else {
                                body.update(repeating: -.infinity, count: inW)
                            }
                        }
                        let firstRow = Int32(truncatingIfNeeded: max(top, 0) * inW)
                        if isa != .portable {
                            for i in 0..<kH { rowIndices[i] = Int32(truncatingIfNeeded: (top + i) * inW) }
                            let v = values + oh * outW, a = argmax + oh * outW
                            if isa == .avx512 {
                                graft_max_pool_argmax_avx512(rowStarts, rowIndices, kH, kW, sW, padW, outW, firstRow, v, a)
                            } else {
                                graft_max_pool_argmax_avx2(rowStarts, rowIndices, kH, kW, sW, padW, outW, firstRow, v, a)
                            }
                            continue
                        }
                        var ow = 0
                        while ow < outW {
                            // Column of each lane's first tap; the first real element is the
                            // starting argmax, as in torch.
                            let first = Int32(truncatingIfNeeded: ow * sW - padW)
                            let c0 = SIMD4<Int32>(repeating: first) &+ lane &* Int32(sW)
                            let c1 = c0 &+ Int32(4 * sW)
                            var i0 = firstRow &+ c0.replacing(with: 0, where: c0 .< 0)
                            var i1 = firstRow &+ c1.replacing(with: 0, where: c1 .< 0)
                            var b0 = Vec4(repeating: -.infinity), b1 = b0
                            for i in 0..<kH {
                                let line = rows + i * rowWidth + ow * sW
                                let rowIndex = Int32(truncatingIfNeeded: (top + i) * inW)
                                for j in 0..<kW {
                                    let v = DepthwiseConv.load8(line + j, stride: sW)
                                    let offset = rowIndex &+ Int32(truncatingIfNeeded: j)
                                    let lo = v.lowHalf, hi = v.highHalf
                                    let t0 = (lo .> b0) .| (lo .!= lo), t1 = (hi .> b1) .| (hi .!= hi)
                                    b0.replace(with: lo, where: t0)
                                    b1.replace(with: hi, where: t1)
                                    i0.replace(with: offset &+ c0, where: t0)
                                    i1.replace(with: offset &+ c1, where: t1)
                                }
                            }
                            let count = min(8, outW - ow)
                            let best = Vec8(lowHalf: b0, highHalf: b1)
                            let bestIndex = SIMD8<Int32>(lowHalf: i0, highHalf: i1)
                            for l in 0..<count {
                                values[oh * outW + ow + l] = best[l]
                                argmax[oh * outW + ow + l] = bestIndex[l]
                            }
                            ow += 8
                        }
                    }
                }
            }
        }
    }
    return MaxPoolResult(output: out, indices: indices)
}
