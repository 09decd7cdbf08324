/// Winograd F(2×2, 3×3)'s data transforms as Swift loops: the input transform for CPUs without AVX2
/// (CPanelKernels' kernels serve the others), the output transform for those CPUs and for the
/// activations the output kernel lacks (it has none and ReLU).
extension Winograd {
    /// `transformInput` through padded copies of each input row.
    static func transformInputInSwift(_ g: ConvGeometry, _ tiling: Tiling, x: UnsafePointer<Float>, t0: Int, t1: Int,
                                      channels: Range<Int>, v: UnsafeMutablePointer<Float>, ld: Int) {
        // Four zero-padded input rows; 16-wide loads at 2·tx and 2·tx + 2 stay inside.
        let width = max(2 * ((tiling.tilesW + 7) / 8 * 8) + 18, g.padLeft + g.inW)
        let rows = Scratch.buffer(.plane, count: 4 * width)
        let channelStride = g.inChannels * ld
        for c in channels {
            // Consecutive tile rows overlap by two input rows: keep them (slot i holds logical
            // row i of the current tile row) and copy only the two new ones.
            var slots = (0, 1, 2, 3)
            var previous = (n: -1, ty: -1)
            forEachRun(tiling, t0: t0, t1: t1) { n, ty, tx0, tx1, column in
                let plane = x + (n * g.inChannels + c) * g.inPlane
                func fill(_ logical: Int, _ slot: Int) {
                    let row = rows + slot * width
                    let ih = 2 * ty - g.padTop + logical
                    if ih < 0 || ih >= g.inH {
                        row.update(repeating: 0, count: width)
                    } else {
                        row.update(repeating: 0, count: g.padLeft)
                        (row + g.padLeft).update(from: plane + ih * g.inW, count: g.inW)
                        (row + g.padLeft + g.inW).update(repeating: 0, count: width - g.padLeft - g.inW)
                    }
                }
                if previous.n == n && previous.ty + 1 == ty {
                    slots = (slots.2, slots.3, slots.0, slots.1)
                    fill(2, slots.2)
                    fill(3, slots.3)
                } else {
                    fill(0, slots.0); fill(1, slots.1); fill(2, slots.2); fill(3, slots.3)
                }
                previous = (n, ty)
                let rowBase = (rows + slots.0 * width, rows + slots.1 * width, rows + slots.2 * width,
                               rows + slots.3 * width)
                var tx = tx0
                while tx < tx1 {
                    // Row i of the 8 tiles' inputs: columns 2·tx + j, j = 0…3, each times B.
                    @inline(__always)
                    func row(_ r: UnsafeMutablePointer<Float>) -> (Vec8, Vec8, Vec8, Vec8) {
                        let base = UnsafeRawPointer(r + 2 * tx)
                        let left = base.loadUnaligned(as: SIMD16<Float>.self)
                        let right = base.loadUnaligned(fromByteOffset: 8, as: SIMD16<Float>.self)
                        return bt(left.evenHalf, left.oddHalf, right.evenHalf, right.oddHalf)
                    }
                    let r0 = row(rowBase.0), r1 = row(rowBase.1), r2 = row(rowBase.2), r3 = row(rowBase.3)
                    // Bᵀ times the columns, stored as V[i·4 + j].
                    let dst = v + c * ld + column + (tx - tx0)
                    @inline(__always)
                    func storeColumn(_ j: Int, _ a: Vec8, _ b: Vec8, _ e: Vec8, _ f: Vec8) {
                        let t = bt(a, b, e, f)
                        storeVec8(t.0, dst + j * channelStride)
                        storeVec8(t.1, dst + (4 + j) * channelStride)
                        storeVec8(t.2, dst + (8 + j) * channelStride)
                        storeVec8(t.3, dst + (12 + j) * channelStride)
                    }
                    storeColumn(0, r0.0, r1.0, r2.0, r3.0)
                    storeColumn(1, r0.1, r1.1, r2.1, r3.1)
                    storeColumn(2, r0.2, r1.2, r2.2, r3.2)
                    storeColumn(3, r0.3, r1.3, r2.3, r3.3)
                    tx += 8
                }
            }
        }
    }

    @inline(__always)
    static func transformOutput(_ g: ConvGeometry, _ tiling: Tiling, _ m: UnsafeMutablePointer<Float>, _ ld: Int,
                                _ t0: Int, _ t1: Int, _ outChannels: Range<Int>,
                                _ y: UnsafeMutablePointer<Float>, _ e: ConvEpilogue, _ act: (Vec8) -> Vec8) {
        let channelStride = PanelGemm.paddedRows(g.outChannels) * ld
        for o in outChannels {
            let b = Vec8(repeating: e.bias?[o] ?? 0)
            forEachRun(tiling, t0: t0, t1: t1) { n, ty, tx0, tx1, column in
                let out = y + (n * g.outChannels + o) * g.outPlane
                let row0 = out + 2 * ty * g.outW
                let residual0 = e.residual(at: row0)
                let hasRow1 = 2 * ty + 1 < g.outH
                var tx = tx0
                while tx < tx1 {
                    let src = m + o * ld + column + (tx - tx0)
                    // Aᵀ M for column j: (m0 + m1 + m2, m1 − m2 − m3) down the rows.
                    @inline(__always)
                    func productColumn(_ j: Int) -> (Vec8, Vec8) {
                        let a = loadVec8(src + j * channelStride), bb = loadVec8(src + (4 + j) * channelStride)
                        let c = loadVec8(src + (8 + j) * channelStride), d = loadVec8(src + (12 + j) * channelStride)
                        return (a + bb + c, bb - c - d)
                    }
                    let s0 = productColumn(0), s1 = productColumn(1), s2 = productColumn(2), s3 = productColumn(3)
                    // Row r of the 8 tiles' outputs, interleaved: y[r][0] lane 0, y[r][1] lane 0, …
                    var top = SIMD16<Float>(), bottom = SIMD16<Float>()
                    top.evenHalf = s0.0 + s1.0 + s2.0 + b
                    top.oddHalf = s1.0 - s2.0 - s3.0 + b
                    bottom.evenHalf = s0.1 + s1.1 + s2.1 + b
                    bottom.oddHalf = s1.1 - s2.1 - s3.1 + b
                    let firstColumn = 2 * tx
                    let columns = min(16, g.outW - firstColumn, 2 * (tx1 - tx))
                    if columns == 16 {
                        if let residual0 {
                            top += UnsafeRawPointer(residual0 + firstColumn).loadUnaligned(as: SIMD16<Float>.self)
                            if hasRow1 {
                                bottom += UnsafeRawPointer(residual0 + g.outW + firstColumn)
                                    .loadUnaligned(as: SIMD16<Float>.self)
                            }
                        }
                        top = SIMD16(lowHalf: act(top.lowHalf), highHalf: act(top.highHalf))
                        UnsafeMutableRawPointer(row0 + firstColumn).storeBytes(of: top, as: SIMD16<Float>.self)
                        if hasRow1 {
                            bottom = SIMD16(lowHalf: act(bottom.lowHalf), highHalf: act(bottom.highHalf))
                            UnsafeMutableRawPointer(row0 + g.outW + firstColumn)
                                .storeBytes(of: bottom, as: SIMD16<Float>.self)
                        }
                    } else {
                        if let residual0 {
                            for i in 0..<columns { top[i] += residual0[firstColumn + i] }
                            if hasRow1 { for i in 0..<columns { bottom[i] += residual0[g.outW + firstColumn + i] } }
                        }
                        top = SIMD16(lowHalf: act(top.lowHalf), highHalf: act(top.highHalf))
                        bottom = SIMD16(lowHalf: act(bottom.lowHalf), highHalf: act(bottom.highHalf))
                        for i in 0..<columns { row0[firstColumn + i] = top[i] }
                        if hasRow1 { for i in 0..<columns { row0[g.outW + firstColumn + i] = bottom[i] } }
                    }
                    tx += 8
                }
            }
        }
    }

    /// One 1-D input transform: Bᵀ (d0, d1, d2, d3) = (d0 − d2, d1 + d2, d2 − d1, d1 − d3).
    @inline(__always)
    static func bt(_ a: Vec8, _ b: Vec8, _ c: Vec8, _ d: Vec8) -> (Vec8, Vec8, Vec8, Vec8) {
        (a - c, b + c, c - b, b - d)
    }
}
