import CPanelKernels

/// Column matrices for convolution as GEMM, built one tile of output positions at a time.
///
/// For one image and one group, row `r = (c·kH + i)·kW + j` of the column matrix holds, for each
/// output position `p = oh·outW + ow` in the tile, the input value under tap (i, j) of the kernel
/// (zero where that tap falls into padding). Rows match the weight layout (O, C/g, kH, kW), so
/// `output[o, p] = Σ_r weight[o, r] · column[r, p]`. Tiling the positions keeps the matrix in cache
/// instead of materialising `C·kH·kW × H·W` floats at once (115 MB for VGG's first block).
enum Im2col {
    /// The valid output-column range `[lo, hi)` for kernel column `j`: where
    /// `ow·sW − padLeft + j·dW` lands inside `0..<inW`.
    @inline(__always)
    static func validColumns(_ g: ConvGeometry, kernelColumn j: Int) -> (lo: Int, hi: Int) {
        let shift = g.padLeft - j * g.dilationW  // iw = ow·sW − shift
        // ow ≥ ceil(shift / sW) and ow ≤ floor((inW − 1 + shift) / sW)
        let lo = shift <= 0 ? 0 : (shift + g.strideW - 1) / g.strideW
        let top = g.inW - 1 + shift
        let hi = top < 0 ? 0 : top / g.strideW + 1
        return (min(max(lo, 0), g.outW), min(max(hi, 0), g.outW))
    }

    /// Fills `dst` (rows of length ≥ `ld`) with the column matrix of positions `p0..<p1`.
    /// - Parameters:
    ///   - src: the group's first input channel plane of the image (C/g planes of inH × inW).
    ///   - channels: the group's input channels whose rows to fill (all by default), so several
    ///     threads can fill one matrix.
    static func fill(_ g: ConvGeometry, src: UnsafePointer<Float>, p0: Int, p1: Int,
                     dst: UnsafeMutablePointer<Float>, ld: Int, channels: Range<Int>? = nil) {
        let kh = g.kernelH, kw = g.kernelW
        // Read once: each read of a global `let` is a call into swift_once, and this loop runs per row.
        let isa = KernelISA.current
        if isa == .avx512, g.strideH == 2, g.strideW == 2, g.dilationH == 1, g.dilationW == 1,
           g.outW > 0, p0 % g.outW == 0, (p1 - p0) % g.outW == 0 {
            // Whole rows of a stride-2 convolution (the plane, or a tile of whole rows such as ResNet's
            // 7×7 stem takes): one kernel call per tap instead of one per output row. Output row r0 + r
            // reads input row 2·(r0 + r) + top, so the tile starts 2·r0 rows further down.
            let r0 = p0 / g.outW, rows = (p1 - p0) / g.outW
            for c in channels ?? 0..<g.groupInChannels {
                for i in 0..<kh {
                    for j in 0..<kw {
                        graft_im2col_s2_avx512(src + c * g.inPlane, g.inH, g.inW, i - g.padTop + 2 * r0, j - g.padLeft, rows, g.outW,
                                               dst + ((c * kh + i) * kw + j) * ld)
                    }
                }
            }
            return
        }
        for c in channels ?? 0..<g.groupInChannels {
            let plane = src + c * g.inPlane
            for i in 0..<kh {
                for j in 0..<kw {
                    let row = dst + ((c * kh + i) * kw + j) * ld
                    let (lo, hi) = validColumns(g, kernelColumn: j)
                    let shift = g.padLeft - j * g.dilationW
                    var p = p0
                    var out = row
                    while p < p1 {
                        let oh = p / g.outW
                        let ow0 = p - oh * g.outW
                        let ow1 = min(g.outW, ow0 + (p1 - p))
                        let ih = oh * g.strideH - g.padTop + i * g.dilationH
                        if ih < 0 || ih >= g.inH {
                            out.update(repeating: 0, count: ow1 - ow0)
                        } else {
                            let line = plane + ih * g.inW
                            let a = min(max(lo, ow0), ow1), b = max(min(hi, ow1), a)
                            if a > ow0 { out.update(repeating: 0, count: a - ow0) }
                            if b > a {
                                let from = line + (a * g.strideW - shift)
                                let to = out + (a - ow0)
                                if g.strideW == 1 {
                                    to.update(from: from, count: b - a)
                                } else if g.strideW == 2 && isa == .avx512 {
                                    graft_even_lanes_avx512(from, to, b - a)
                                } else if g.strideW == 2 && isa == .avx2 {
                                    graft_even_lanes_avx2(from, to, b - a)
                                } else if g.strideW == 2 {
                                    // Even lanes of 16-wide loads; the last load ends before the
                                    // row's last read element, so it never leaves the tensor.
                                    var t = 0
                                    while t + 8 < b - a {
                                        let wide = UnsafeRawPointer(from + 2 * t)
                                            .loadUnaligned(as: SIMD16<Float>.self)
                                        storeVec8(wide.evenHalf, to + t)
                                        t += 8
                                    }
                                    while t < b - a {
                                        to[t] = from[2 * t]
                                        t += 1
                                    }
                                } else {
                                    for t in 0..<(b - a) { to[t] = from[t * g.strideW] }
                                }
                            }
                            if ow1 > b { (out + (b - ow0)).update(repeating: 0, count: ow1 - b) }
                        }
                        out += ow1 - ow0
                        p += ow1 - ow0
                    }
                }
            }
        }
    }

    /// The adjoint of `fill`: adds each column entry back onto the input position it was read
    /// from (`dst` is the group's first input-gradient plane; padding taps are dropped).
    /// - Parameter channelCount: how many channels (from `dst`'s and `columns`' first) to
    ///   scatter; all of the group's by default.
    static func accumulate(_ g: ConvGeometry, columns: UnsafePointer<Float>, ld: Int, p0: Int, p1: Int,
                           dst: UnsafeMutablePointer<Float>, channelCount: Int? = nil) {
        let kh = g.kernelH, kw = g.kernelW
        for c in 0..<(channelCount ?? g.groupInChannels) {
            let plane = dst + c * g.inPlane
            for i in 0..<kh {
                for j in 0..<kw {
                    let row = columns + ((c * kh + i) * kw + j) * ld
                    let (lo, hi) = validColumns(g, kernelColumn: j)
                    let shift = g.padLeft - j * g.dilationW
                    var p = p0
                    var from = row
                    while p < p1 {
                        let oh = p / g.outW
                        let ow0 = p - oh * g.outW
                        let ow1 = min(g.outW, ow0 + (p1 - p))
                        let ih = oh * g.strideH - g.padTop + i * g.dilationH
                        if ih >= 0 && ih < g.inH {
                            let line = plane + ih * g.inW
                            let a = min(max(lo, ow0), ow1), b = max(min(hi, ow1), a)
                            if b > a {
                                let to = line + (a * g.strideW - shift)
                                let src = from + (a - ow0)
                                if g.strideW == 1 {
                                    addInPlace(to, src, b - a)
                                } else {
                                    for t in 0..<(b - a) { to[t * g.strideW] += src[t] }
                                }
                            }
                        }
                        from += ow1 - ow0
                        p += ow1 - ow0
                    }
                }
            }
        }
    }
}

/// `dst[i] += src[i]` for `count` floats.
@inline(__always)
func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ count: Int) {
    var i = 0
    while i + 8 <= count {
        storeVec8(loadVec8(dst + i) + loadVec8(src + i), dst + i)
        i += 8
    }
    while i < count {
        dst[i] += src[i]
        i += 1
    }
}
