import CPanelKernels

/// ∂L/∂W of a stride-1 3×3 convolution by Winograd F(2×2, 3×3), the adjoint of `Winograd.forward`.
///
/// The forward pass computes each 2×2 output tile as y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A, bilinear in the
/// filter g and the input tile d. Its adjoint with respect to g, summed over every tile of every image:
///
///     V = Bᵀ d B          (input tiles, the forward pass's own transform)
///     Z = A ∂y Aᵀ         (the 2×2 output-gradient tiles, 4×4 each)
///     M[ξ] = Σ_tiles Z[ξ] ⊗ V[ξ]   for ξ in 0..<16   ([O × tiles] · [C × tiles]ᵀ)
///     ∂g = Gᵀ M G         (3×3 per filter)
///
/// 16 products of depth `tiles` instead of one of depth 9·4·tiles: 2.25× fewer multiplies than
/// im2col + GEMM, the same exact-arithmetic transforms (adds, subtracts, halves) as the forward pass.
/// Output positions past the plane's edge (odd sizes) get zero gradient, as the forward pass never
/// writes them; input positions past the edge are the forward pass's zero padding.
enum WinogradWeightGradient {
    /// Floats of V and Z per block of tiles: big enough that each product is deep, small enough to
    /// stay in the last-level cache.
    static let blockFloats = 2 << 20

    /// Adds nothing: writes ∂W (O, C, 3, 3) for `g` (which `Winograd.isApplicable` accepted).
    /// `tileSize`: 2 or 4 (`Winograd.tileSize`), the tile of the forward pass whose adjoint this is.
    static func run(_ g: ConvGeometry, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                    dw: UnsafeMutablePointer<Float>, tileSize: Int = 2) {
        let c = g.inChannels, o = g.outChannels
        let tiling = Winograd.Tiling(g, size: tileSize), points = tiling.points
        let total = g.batch * tiling.perImage
        let block = max(64, min(total, blockFloats / (16 * (c + o))))
        let blocks = (total + block - 1) / block
        let products = Scratch.buffer(.reduction, count: points * o * c)
        let chunks = 4 * Parallel.threads
        for b in 0..<blocks {
            let t0 = total * b / blocks, t1 = total * (b + 1) / blocks
            let ld = Winograd.stride(t1 - t0)
            let v = Scratch.buffer(.winogradInput, count: points * c * ld)
            let z = Scratch.buffer(.winogradProduct, count: points * o * ld)
            Parallel.forEach(min(c, chunks)) { k in
                Winograd.transformInput(g, tiling, x: x, t0: t0, t1: t1,
                                        channels: (c * k / min(c, chunks))..<(c * (k + 1) / min(c, chunks)),
                                        v: v, ld: ld)
            }
            Parallel.forEach(min(o, chunks)) { k in
                let channels = (o * k / min(o, chunks))..<(o * (k + 1) / min(o, chunks))
                if tileSize == 4 {
                    Winograd4.transformOutputGradient(g, tiling, dy: dy, t0: t0, t1: t1, outChannels: channels, z: z, ld: ld)
                } else {
                    transformOutputGradient(g, tiling, dy: dy, t0: t0, t1: t1, outChannels: channels, z: z, ld: ld)
                }
            }
            // One product per ξ, each on one thread: no shared accumulator, no reduction.
            Parallel.forEach(points) { xi in
                Gemm.serial(transA: false, transB: true, m: o, n: c, k: t1 - t0, alpha: 1,
                            a: z + xi * o * ld, lda: ld, b: v + xi * c * ld, ldb: ld,
                            beta: b == 0 ? 0 : 1, c: products + xi * o * c, ldc: c)
            }
        }
        if tileSize == 4 {
            Winograd4.transformProducts(o: o, c: c, m: products, dw: dw)
        } else {
            transformProducts(o: o, c: c, m: products, dw: dw)
        }
    }

    /// Z[ξ][o][t] = (A ∂y Aᵀ)[ξ] for the block's tiles, with A = [[1, 0], [1, 1], [1, −1], [0, −1]].
    static func transformOutputGradient(_ g: ConvGeometry, _ tiling: Winograd.Tiling, dy: UnsafePointer<Float>,
                                        t0: Int, t1: Int, outChannels: Range<Int>,
                                        z: UnsafeMutablePointer<Float>, ld: Int) {
        let channelStride = g.outChannels * ld
        let tail = Scratch.buffer(.planeGrad, count: 16)
        let isa = KernelISA.current  // once, not per run: each read of a global `let` calls swift_once
        for o in outChannels {
            Winograd.forEachRun(tiling, t0: t0, t1: t1) { n, ty, tx0, tx1, column in
                let plane = dy + (n * g.outChannels + o) * g.outPlane
                let hasRow1 = 2 * ty + 1 < g.outH
                let row0 = plane + 2 * ty * g.outW + 2 * tx0, run = z + o * ld + column
                switch isa {
                case .avx512:
                    graft_winograd_output_gradient_avx512(row0, hasRow1 ? row0 + g.outW : nil, g.outW - 2 * tx0,
                                                          tx1 - tx0, run, channelStride)
                    return
                case .avx2:
                    graft_winograd_output_gradient_avx2(row0, hasRow1 ? row0 + g.outW : nil, g.outW - 2 * tx0,
                                                        tx1 - tx0, run, channelStride)
                    return
                case .portable: break
                }
                var tx = tx0
                while tx < tx1 {
                    // Row r of 8 tiles: (∂y[r][0], ∂y[r][1]) as the even and odd lanes, times Aᵀ.
                    @inline(__always)
                    func row(_ r: Int) -> (Vec8, Vec8, Vec8, Vec8) {
                        if r == 1 && !hasRow1 { return (Vec8(), Vec8(), Vec8(), Vec8()) }
                        let source = plane + (2 * ty + r) * g.outW + 2 * tx
                        let inside = g.outW - 2 * tx
                        if inside >= 16 {
                            let pair = UnsafeRawPointer(source).loadUnaligned(as: SIMD16<Float>.self)
                            return a(pair.evenHalf, pair.oddHalf)
                        }
                        // Past the row's end: zeros (small planes take this every time, so a plain loop
                        // rather than a library copy).
                        for i in 0..<16 { tail[i] = i < inside ? source[i] : 0 }
                        let pair = UnsafeRawPointer(tail).loadUnaligned(as: SIMD16<Float>.self)
                        return a(pair.evenHalf, pair.oddHalf)
                    }
                    let top = row(0), bottom = row(1)
                    let dst = z + o * ld + column + (tx - tx0)
                    @inline(__always)
                    func storeColumn(_ j: Int, _ p: Vec8, _ q: Vec8) {
                        let t = a(p, q)
                        storeVec8(t.0, dst + j * channelStride)
                        storeVec8(t.1, dst + (4 + j) * channelStride)
                        storeVec8(t.2, dst + (8 + j) * channelStride)
                        storeVec8(t.3, dst + (12 + j) * channelStride)
                    }
                    storeColumn(0, top.0, bottom.0)
                    storeColumn(1, top.1, bottom.1)
                    storeColumn(2, top.2, bottom.2)
                    storeColumn(3, top.3, bottom.3)
                    tx += 8
                }
            }
        }
    }

    /// ∂W[o][c] = Gᵀ M G, in Double, with Gᵀ = [[1, ½, ½, 0], [0, ½, −½, 0], [0, ½, ½, 1]].
    static func transformProducts(o: Int, c: Int, m: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>) {
        let plane = o * c
        Parallel.forRanges(plane, grain: 4096) { range in
            for i in range {
                @inline(__always)
                func row(_ r: Int) -> (Double, Double, Double) {
                    gt(Double(m[(4 * r) * plane + i]), Double(m[(4 * r + 1) * plane + i]),
                       Double(m[(4 * r + 2) * plane + i]), Double(m[(4 * r + 3) * plane + i]))
                }
                let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3)
                let out = dw + i * 9
                let c0 = gt(r0.0, r1.0, r2.0, r3.0), c1 = gt(r0.1, r1.1, r2.1, r3.1), c2 = gt(r0.2, r1.2, r2.2, r3.2)
                out[0] = Float(c0.0); out[1] = Float(c1.0); out[2] = Float(c2.0)
                out[3] = Float(c0.1); out[4] = Float(c1.1); out[5] = Float(c2.1)
                out[6] = Float(c0.2); out[7] = Float(c1.2); out[8] = Float(c2.2)
            }
        }
    }

    /// One 1-D gradient transform: A (p, q) = (p, p + q, p − q, −q).
    @inline(__always)
    static func a(_ p: Vec8, _ q: Vec8) -> (Vec8, Vec8, Vec8, Vec8) {
        (p, p + q, p - q, -q)
    }

    /// Gᵀ (m0, m1, m2, m3) = (m0 + (m1 + m2)/2, (m1 − m2)/2, (m1 + m2)/2 + m3).
    @inline(__always)
    static func gt(_ m0: Double, _ m1: Double, _ m2: Double, _ m3: Double) -> (Double, Double, Double) {
        let half = (m1 + m2) / 2
        return (m0 + half, (m1 - m2) / 2, half + m3)
    }
}
