import CPanelKernels

/// The transforms of Winograd F(4×4, 3×3), the larger tile `Winograd` takes where `ConvolutionOptions`
/// ask for it (a training step's convolutions): each 4×4 output tile costs 36 multiplies per
/// (input, output) channel pair where F(2×2, 3×3) spends 64 on the same outputs and the direct
/// method 144. With the points 0, ±1, ±2, ∞ (Lavin & Gray 2015),
///
///     G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1⁄24 1⁄12 ⅙; 1⁄24 −1⁄12 ⅙; 0 0 1]   (6 × 3)
///
/// and Bᵀ, Aᵀ as in CPanelKernels' winograd4_transforms.h, whose kernels do the data transforms (the
/// output transform's call is `Winograd.transformOutputOnKernel`'s);
/// the filter transform here runs in Float, the weight gradient's product transform in Double. The price is rounding: the transforms multiply by up to
/// 8 and 1⁄24, so a layer's outputs carry about six times the direct method's error (F(2×2, 3×3) only
/// adds and halves, which is why inference keeps it and its logits match the frameworks').
enum Winograd4 {
    /// U = G g Gᵀ, 36 planes of paddedRows(O) · C floats, as `Winograd.transformFilters` lays out its 16.
    /// Filters go eight (packed: the ≤ 6 rows of a panel) at a time, one per lane, chosen so
    /// that their transforms land side by side: packed, the rows of a panel at one column; row-major,
    /// consecutive columns of a row.
    /// `layout` is `.rows` or `.panels` (F(4×4)'s products do not run on column panels).
    static func transformFilters(_ g: ConvGeometry, _ w: UnsafePointer<Float>, layout: Winograd.FilterLayout,
                                 flipped: Bool) -> FloatBuffer {
        precondition(layout != .columnPanels, "F(4×4)'s filters come in rows or PanelGemm panels")
        let o = g.outChannels, c = g.inChannels, plane = layout.plane(o: o, c: c), panel = PanelGemm.rows
        let packed = layout == .panels
        let filters = FloatBuffer(count: 36 * plane)
        let u = filters.values
        if let lastPanel = layout.paddedPanelStart(o: o, c: c) {
            for xi in 0..<36 { (u + xi * plane + lastPanel).update(repeating: 0, count: plane - lastPanel) }
        }
        // Filter (oc, ic) starts at w + oc · ocStride + ic · icStride (flipped: w[ic, oc], see `Winograd.forward`).
        let ocStride = flipped ? 9 : c * 9, icStride = flipped ? o * 9 : 9
        let outer = packed ? (o + panel - 1) / panel : o
        Parallel.forRanges(outer, grain: max(1, 1024 / c)) { range in
            for r in range {
                if packed {
                    let oc = r * panel, lanes = min(panel, o - oc)
                    for ic in 0..<c {
                        transformGroup(w + oc * ocStride + ic * icStride, ocStride, lanes, flipped,
                                       u + oc * c + ic * panel, plane)
                    }
                } else {
                    var ic = 0
                    while ic < c {
                        let lanes = min(8, c - ic)
                        transformGroup(w + r * ocStride + ic * icStride, icStride, lanes, flipped, u + r * c + ic, plane)
                        ic += lanes
                    }
                }
            }
        }
        return filters
    }

    /// U for `lanes` filters, filter k at f + k · laneStride, its 36 values to dst[ξ · plane + k]. In Float:
    /// rounding G g Gᵀ once more than in Double is far below the tile's own rounding, and in Double the
    /// 36 intermediate vectors spilled (four times slower in a training step, where weights change
    /// every step).
    @inline(__always)
    static func transformGroup(_ f: UnsafePointer<Float>, _ laneStride: Int, _ lanes: Int, _ flipped: Bool,
                               _ dst: UnsafeMutablePointer<Float>, _ plane: Int) {
        @inline(__always)
        func tap(_ stored: Int) -> Vec8 {
            let p = f + (flipped ? 8 - stored : stored), s = laneStride
            switch lanes {
            case 8: return Vec8(p[0], p[s], p[2 * s], p[3 * s], p[4 * s], p[5 * s], p[6 * s], p[7 * s])
            case 6: return Vec8(p[0], p[s], p[2 * s], p[3 * s], p[4 * s], p[5 * s], 0, 0)
            default:
                var v = Vec8()
                for k in 0..<lanes { v[k] = p[k * s] }
                return v
            }
        }
        @inline(__always)
        func store(_ v: Vec8, _ xi: Int) {
            let out = dst + xi * plane
            switch lanes {
            case 8: storeVec8(v, out)
            case 6:
                // A panel's six rows: not eight, which would reach into the next column's (or panel's).
                UnsafeMutableRawPointer(out).storeBytes(of: v.lowHalf, as: SIMD4<Float>.self)
                UnsafeMutableRawPointer(out + 4).storeBytes(of: SIMD2(v[4], v[5]), as: SIMD2<Float>.self)
            default: for k in 0..<lanes { out[k] = v[k] }
            }
        }
        let c0 = gRows(tap(0), tap(3), tap(6)), c1 = gRows(tap(1), tap(4), tap(7)), c2 = gRows(tap(2), tap(5), tap(8))
        // Row i of G g times Gᵀ: row i of U.
        @inline(__always)
        func storeRow(_ i: Int, _ a: Vec8, _ b: Vec8, _ d: Vec8) {
            let r = gRows(a, b, d)
            store(r.0, 6 * i); store(r.1, 6 * i + 1); store(r.2, 6 * i + 2)
            store(r.3, 6 * i + 3); store(r.4, 6 * i + 4); store(r.5, 6 * i + 5)
        }
        storeRow(0, c0.0, c1.0, c2.0); storeRow(1, c0.1, c1.1, c2.1); storeRow(2, c0.2, c1.2, c2.2)
        storeRow(3, c0.3, c1.3, c2.3); storeRow(4, c0.4, c1.4, c2.4); storeRow(5, c0.5, c1.5, c2.5)
    }

    /// G (a, b, d): one filter column (or, on G g, one row) to six.
    @inline(__always)
    static func gRows(_ a: Vec8, _ b: Vec8, _ d: Vec8) -> (Vec8, Vec8, Vec8, Vec8, Vec8, Vec8) {
        let outer = a + d, e = a * (1.0 / 24) + d * (1.0 / 6), f = b * (1.0 / 12)
        return (a * 0.25, (outer + b) * (-1.0 / 6), (outer - b) * (-1.0 / 6), e + f, e - f, d)
    }

    /// V[ξ][c][t] = (Bᵀ d B)[ξ] for the block's tiles and `channels`, from the input planes in place.
    static func transformInput(_ g: ConvGeometry, _ tiling: Winograd.Tiling, x: UnsafePointer<Float>, t0: Int, t1: Int,
                               channels: Range<Int>, v: UnsafeMutablePointer<Float>, ld: Int) {
        let channelStride = g.inChannels * ld, avx512 = KernelISA.current == .avx512
        // Planes of at most 8 tiles a row (28 wide and less) take two whole tile rows per AVX-512 vector.
        let pairs = avx512 && tiling.tilesW <= 8
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: 12) { rows in
            /// Points rows[first …] at the six input rows of tile row `row` (counted across images) of channel c.
            func fill(_ first: Int, row: Int, channel c: Int) {
                let n = row / tiling.tilesH, ty = row % tiling.tilesH
                let plane = x + (n * g.inChannels + c) * g.inPlane
                for i in 0..<6 {
                    let ih = 4 * ty - g.padTop + i
                    rows[first + i] = ih >= 0 && ih < g.inH ? plane + ih * g.inW : nil
                }
            }
            for c in channels {
                var t = t0
                while t < t1 {
                    let row = t / tiling.tilesW, tx0 = t - row * tiling.tilesW
                    let run = v + c * ld + (t - t0)
                    if pairs && tx0 == 0 && t + 2 * tiling.tilesW <= t1 {
                        fill(0, row: row, channel: c)
                        fill(6, row: row + 1, channel: c)
                        graft_winograd4_input_pairs_avx512(rows.baseAddress, -g.padLeft, g.inW, tiling.tilesW, run,
                                                           channelStride)
                        t += 2 * tiling.tilesW
                        continue
                    }
                    let tx1 = min(tiling.tilesW, tx0 + (t1 - t)), col = 4 * tx0 - g.padLeft
                    fill(0, row: row, channel: c)
                    if avx512 {
                        graft_winograd4_input_avx512(rows.baseAddress, col, g.inW, tx1 - tx0, run, channelStride)
                    } else {
                        graft_winograd4_input_avx2(rows.baseAddress, col, g.inW, tx1 - tx0, run, channelStride)
                    }
                    t += tx1 - tx0
                }
            }
        }
    }

    /// Z[ξ][o][t] = (A ∂y Aᵀ)[ξ] for the block's tiles and `outChannels` (the weight gradient's).
    static func transformOutputGradient(_ g: ConvGeometry, _ tiling: Winograd.Tiling, dy: UnsafePointer<Float>,
                                        t0: Int, t1: Int, outChannels: Range<Int>,
                                        z: UnsafeMutablePointer<Float>, ld: Int) {
        let channelStride = g.outChannels * ld, avx512 = KernelISA.current == .avx512
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: 4) { rows in
            for o in outChannels {
                Winograd.forEachRun(tiling, t0: t0, t1: t1) { n, ty, tx0, tx1, column in
                    let plane = dy + (n * g.outChannels + o) * g.outPlane
                    for r in 0..<4 {
                        let oh = 4 * ty + r
                        rows[r] = oh < g.outH ? plane + oh * g.outW + 4 * tx0 : nil
                    }
                    let run = z + o * ld + column
                    if avx512 {
                        graft_winograd4_output_gradient_avx512(rows.baseAddress, g.outW - 4 * tx0, tx1 - tx0, run,
                                                               channelStride)
                    } else {
                        graft_winograd4_output_gradient_avx2(rows.baseAddress, g.outW - 4 * tx0, tx1 - tx0, run,
                                                             channelStride)
                    }
                }
            }
        }
    }

    /// ∂W[o][c] = Gᵀ M G, in Double, from the 36 summed products: eight (o, c) pairs per step, one per lane.
    static func transformProducts(o: Int, c: Int, m: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>) {
        let plane = o * c
        Parallel.forRanges((plane + 7) / 8, grain: 256) { range in
            for block in range {
                let i0 = block * 8, lanes = min(8, plane - i0)
                @inline(__always)
                func load(_ xi: Int) -> SIMD8<Double> {
                    let p = m + xi * plane + i0
                    if lanes == 8 { return SIMD8<Double>(loadVec8(p)) }
                    var v = SIMD8<Double>()
                    for k in 0..<lanes { v[k] = Double(p[k]) }
                    return v
                }
                // P = Gᵀ M (3 × 6), column by column.
                let q0 = gt(load(0), load(6), load(12), load(18), load(24), load(30))
                let q1 = gt(load(1), load(7), load(13), load(19), load(25), load(31))
                let q2 = gt(load(2), load(8), load(14), load(20), load(26), load(32))
                let q3 = gt(load(3), load(9), load(15), load(21), load(27), load(33))
                let q4 = gt(load(4), load(10), load(16), load(22), load(28), load(34))
                let q5 = gt(load(5), load(11), load(17), load(23), load(29), load(35))
                // ∂W = P G, row by row.
                @inline(__always)
                func store(_ r: Int, _ row: (SIMD8<Double>, SIMD8<Double>, SIMD8<Double>)) {
                    let a = SIMD8<Float>(row.0), b = SIMD8<Float>(row.1), e = SIMD8<Float>(row.2)
                    for k in 0..<lanes {
                        let out = dw + (i0 + k) * 9 + 3 * r
                        out[0] = a[k]; out[1] = b[k]; out[2] = e[k]
                    }
                }
                store(0, gt(q0.0, q1.0, q2.0, q3.0, q4.0, q5.0))
                store(1, gt(q0.1, q1.1, q2.1, q3.1, q4.1, q5.1))
                store(2, gt(q0.2, q1.2, q2.2, q3.2, q4.2, q5.2))
            }
        }
    }

    /// Gᵀ (m0 … m5) = (m0/4 − (m1 + m2)/6 + (m3 + m4)/24, (m2 − m1)/6 + (m3 − m4)/12, (m3 + m4 − m1 − m2)/6 + m5).
    @inline(__always)
    static func gt(_ m0: SIMD8<Double>, _ m1: SIMD8<Double>, _ m2: SIMD8<Double>, _ m3: SIMD8<Double>,
                   _ m4: SIMD8<Double>, _ m5: SIMD8<Double>) -> (SIMD8<Double>, SIMD8<Double>, SIMD8<Double>) {
        let s = m1 + m2, d = m2 - m1, s2 = m3 + m4, d2 = m3 - m4
        return (m0 * 0.25 - s * (1.0 / 6) + s2 * (1.0 / 24), d * (1.0 / 6) + d2 * (1.0 / 12), (s2 - s) * (1.0 / 6) + m5)
    }
}
