import CPanelKernels

/// Winograd F(2×2, 3×3) for stride-1, undilated, ungrouped 3×3 convolutions (ResNet's and VGG's
/// workhorse): each 2×2 output tile costs 16 multiplies per (input, output) channel pair instead
/// of 36, as 16 independent GEMMs.
///
/// With `d` a 4×4 input tile, `g` a 3×3 filter and `m` the 4×4 elementwise products summed over
/// input channels (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015):
///
///     U = G g Gᵀ   (filters, once per weight tensor; cached with the weights)
///     V = Bᵀ d B   (input tiles)
///     M[ξ] = U[ξ] · V[ξ]   for ξ in 0..<16   ([O × C] · [C × tiles])
///     y = Aᵀ M A   (2×2 outputs per tile)
///
/// F(2, 3) only adds, subtracts and halves, so its rounding error stays at the level of the direct
/// method (unlike the larger F(4, 3) / F(6, 3) tiles). Tiles are processed in blocks sized so
/// the transformed inputs and products stay in cache; blocks go to threads when there are enough
/// of them, otherwise each block's transforms and its 16 GEMMs are split across threads.
///
/// Training steps take F(4×4, 3×3) instead (`ConvolutionOptions.winogradTile`, `Winograd4`'s transforms,
/// 36 GEMMs); the data transforms run on CPanelKernels' kernels, the Swift loops of
/// WinogradSwiftTransforms.swift serving CPUs without AVX2 and the activations the kernels lack.
enum Winograd {
    /// Whether conv2d uses Winograd for `g` (`options.winograd` off forces im2col + GEMM).
    static func isApplicable(_ g: ConvGeometry, _ options: ConvolutionOptions) -> Bool {
        options.winograd && g.kernelH == 3 && g.kernelW == 3 && g.strideH == 1 && g.strideW == 1
            && g.dilationH == 1 && g.dilationW == 1
            && g.groups == 1 && g.inChannels >= minimumChannels && g.outChannels >= minimumChannels
            && g.outH >= 4 && g.outW >= 4
            && g.batch * Tiling(g, size: tileSize(options)).perImage >= minimumTiles(options)
    }

    /// The output tile's side `options` ask for and this CPU can run: 4 (F(4×4, 3×3), `Winograd4`'s
    /// transforms on CPanelKernels) or 2.
    static func tileSize(_ options: ConvolutionOptions) -> Int {
        options.winogradTile == .fourByFour && KernelISA.current != .portable ? 4 : 2
    }

    /// Below this the GEMMs are too thin for the transforms to pay off (VGG's RGB input layer).
    static let minimumChannels = 16
    /// Fewer tiles than this and the 16 GEMMs are slivers that only stream their slice of U, 16/9 the size
    /// of the weights. A 7×7 plane at batch 1 has 16: where Winograd's products run on `ColumnPanelGemm`
    /// (AVX-512), which prefetches each next panel, ResNet-50's layer4 3×3 convolutions are faster on
    /// Winograd there than on im2col + one GEMM in a full forward, their weights coming from DRAM
    /// (alternated processes, 2 vCPUs, both orders: 18 of 20 pairs faster, min 35.5 against 36.4 ms).
    /// On `PanelGemm` (AVX2) they were not (1.3 against 1.0 ms each; with the bound at 16 level by the
    /// minima and 2–3 ms slower by the medians), so there it stays 32. The products' layout is asked of
    /// `FilterLayout.choose`, which places them, so packed weights off or F(4×4) (never on column panels)
    /// keep 32 on AVX-512 too.
    static func minimumTiles(_ options: ConvolutionOptions) -> Int {
        let onColumnPanels = tileSize(options) == 2
            && FilterLayout.choose(packedWeights: options.packedWeights, columns: 16, options.winogradBlocks) == .columnPanels
        return onColumnPanels ? 16 : 32
    }

    struct Tiling {
        /// The output tile's side (2 or 4) and the number of transforms, (size + 2)².
        let size: Int, points: Int
        let tilesH: Int, tilesW: Int
        var perImage: Int { tilesH * tilesW }
        init(_ g: ConvGeometry, size: Int = 2) {
            self.size = size
            points = (size + 2) * (size + 2)
            tilesH = (g.outH + size - 1) / size
            tilesW = (g.outW + size - 1) / size
        }
    }

    /// The filters are transformed once per layout and cached with the weights under a key that
    /// names the layout, so callers using different `packedWeights` on the same weights (even at
    /// the same time) each find their own; the block sizes only change how tiles are grouped.
    ///
    /// `flipped`: `weight` is the forward weight (O′, C′, 3, 3) of the convolution whose input gradient
    /// this is (`g`, the transposed convolution, has O′ input and C′ output channels), read as
    /// `TransposedConvolution.flippedWeight` would lay it out: transformed from it directly, without
    /// the flipped copy, and not cached (a training step changes the weights before they are read again).
    static func forward(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: Tensor, flipped: Bool = false,
                        y: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue, options: ConvolutionOptions) {
        let tuning = options.winogradBlocks
        // F(4×4) has no activations in its output kernel but none and ReLU (a training step's have none).
        let large = tileSize(options) == 4 && (epilogue.activation == .none || epilogue.activation == .relu)
        let tiling = Tiling(g, size: large ? 4 : 2), points = tiling.points
        let total = g.batch * tiling.perImage
        // Blocks hold as many tiles for either tile size (F(4×4)'s 36 transforms per tile take more room).
        let perTile = 16 * (g.inChannels + g.outChannels)
        let threads = Parallel.threads
        let cacheBlock = min(512, tuning.blockFloats / perTile) / 16 * 16
        // Each block repacks all of U (16·O·C floats) for its GEMMs, so narrow blocks (wide
        // layers) cost more in packing than cache locality saves: measured on VGG-16, per-thread
        // blocks only pay off below ~160 tiles' worth of channels (C + O ≤ ~200).
        let perThreadBlocks = cacheBlock >= tuning.minimumCacheBlock && total >= 2 * threads * cacheBlock
        // Few tiles (small planes, deep layers): big blocks, each phase split across threads.
        let blockTiles = perThreadBlocks ? cacheBlock
            : max(16, min(total, tuning.bigBlockFactor * tuning.blockFloats / perTile))
        // Per-thread blocks: a count the threads divide, or the last one runs alone (VGG-16's 224×224
        // layers are 25 blocks of 512 tiles).
        let fewest = (total + blockTiles - 1) / blockTiles
        let blocks = perThreadBlocks ? Parallel.evenCount(fewest) : fewest
        let layout: FilterLayout = large ? (options.packedWeights ? .panels : .rows)
            : .choose(packedWeights: options.packedWeights, columns: (total + blocks - 1) / blocks, tuning)
        let kind: DerivedKey.Kind = switch (large, layout) {
        case (true, .rows): .winogradF4x3
        case (true, _): .winogradF4x3Panels
        case (false, .rows): .winogradF2x3
        case (false, .panels): .winogradF2x3Panels
        case (false, .columnPanels): .winogradF2x3ColumnPanels
        }
        let key = DerivedKey(kind: kind, rows: g.outChannels, columns: g.inChannels)
        func transformed() -> FloatBuffer {
            large ? Winograd4.transformFilters(g, weight.pointer, layout: layout, flipped: flipped)
                : transformFilters(g, weight.pointer, layout: layout, flipped: flipped)
        }
        let filters = flipped ? withExtendedLifetime(weight) { transformed() } : weight.storage.derived(key, transformed)
        let u = UnsafePointer(filters.values)
        if perThreadBlocks {
            // Many blocks: one block per task, everything on that thread.
            Parallel.forEach(blocks) { b in
                let t0 = total * b / blocks, t1 = total * (b + 1) / blocks
                let ld = stride(t1 - t0)
                let v = Scratch.buffer(.winogradInput, count: points * g.inChannels * ld)
                let m = Scratch.buffer(.winogradProduct, count: points * PanelGemm.paddedRows(g.outChannels) * ld)
                transformInput(g, tiling, x: x, t0: t0, t1: t1, channels: 0..<g.inChannels, v: v, ld: ld)
                for xi in 0..<points { multiply(g, u: u, layout: layout, v: v, m: m, ld: ld, columns: t1 - t0, xi: xi) }
                transformOutput(g, tiling, m: m, ld: ld, t0: t0, t1: t1, outChannels: 0..<g.outChannels,
                                y: y, epilogue: epilogue)
            }
            return
        }
        // Big blocks: each phase split across threads.
        for b in 0..<blocks {
            let t0 = total * b / blocks, t1 = total * (b + 1) / blocks
            let ld = stride(t1 - t0)
            let v = Scratch.buffer(.winogradInput, count: points * g.inChannels * ld)
            let m = Scratch.buffer(.winogradProduct, count: points * PanelGemm.paddedRows(g.outChannels) * ld)
            let inChunks = min(g.inChannels, 4 * threads)
            Parallel.forEach(inChunks) { k in
                let channels = (g.inChannels * k / inChunks)..<(g.inChannels * (k + 1) / inChunks)
                transformInput(g, tiling, x: x, t0: t0, t1: t1, channels: channels, v: v, ld: ld)
            }
            Parallel.forEach(points) { xi in
                multiply(g, u: u, layout: layout, v: v, m: m, ld: ld, columns: t1 - t0, xi: xi)
            }
            let outChunks = min(g.outChannels, 4 * threads)
            Parallel.forEach(outChunks) { k in
                let channels = (g.outChannels * k / outChunks)..<(g.outChannels * (k + 1) / outChunks)
                transformOutput(g, tiling, m: m, ld: ld, t0: t0, t1: t1, outChannels: channels,
                                y: y, epilogue: epilogue)
            }
        }
    }

    /// Row stride of V and M for a block of `tiles`: room for whole 8-wide stores past the end.
    @inline(__always)
    static func stride(_ tiles: Int) -> Int { (tiles + 7) / 8 * 8 + 8 }

    /// Calls `body(n, ty, tx0, tx1, column)` for each run of tiles of one tile row inside the
    /// block `t0..<t1`; `column` is the run's first position within the block.
    @inline(__always)
    static func forEachRun(_ tiling: Tiling, t0: Int, t1: Int, _ body: (Int, Int, Int, Int, Int) -> Void) {
        var t = t0
        while t < t1 {
            let row = t / tiling.tilesW
            let tx0 = t - row * tiling.tilesW
            let tx1 = min(tiling.tilesW, tx0 + (t1 - t))
            body(row / tiling.tilesH, row % tiling.tilesH, tx0, tx1, t - t0)
            t += tx1 - tx0
        }
    }

    // MARK: - Transforms

    /// U = G g Gᵀ with G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]], computed in Double: for each
    /// ξ, U[ξ] (O × C) in a plane of `layout.plane` floats, laid out for the multiply that reads it.
    /// `flipped`: filter (o, c) is w[c, o] turned by 180° (see `forward`).
    static func transformFilters(_ g: ConvGeometry, _ w: UnsafePointer<Float>, layout: FilterLayout,
                                 flipped: Bool = false) -> FloatBuffer {
        let o = g.outChannels, c = g.inChannels, plane = layout.plane(o: o, c: c)
        let filters = FloatBuffer(count: 16 * plane)
        let u = filters.values
        // Packed, the rows that pad O to whole panels (inside the last panel) give products nobody
        // reads; clear that panel so they stay finite, then fill in the real rows.
        if let lastPanel = layout.paddedPanelStart(o: o, c: c) {
            for xi in 0..<16 { (u + xi * plane + lastPanel).update(repeating: 0, count: plane - lastPanel) }
        }
        Parallel.forRanges(o, grain: max(1, 4096 / c)) { range in
            for oc in range {
                // Eight filters (consecutive input channels) per step, one per Double lane.
                var ic = 0
                while ic < c {
                    let lanes = min(8, c - ic)
                    // Filter (oc, ic + k) starts at f + k · next; flipped, its tap t is the stored tap 8 − t.
                    let f = flipped ? w + (ic * o + oc) * 9 : w + (oc * c + ic) * 9
                    let next = flipped ? o * 9 : 9
                    @inline(__always)
                    func tap(_ stored: Int) -> SIMD8<Double> {
                        let t = flipped ? 8 - stored : stored
                        if lanes == 8 {
                            return SIMD8(Double(f[t]), Double(f[next + t]), Double(f[2 * next + t]),
                                         Double(f[3 * next + t]), Double(f[4 * next + t]), Double(f[5 * next + t]),
                                         Double(f[6 * next + t]), Double(f[7 * next + t]))
                        }
                        var v = SIMD8<Double>()
                        for k in 0..<lanes { v[k] = Double(f[k * next + t]) }
                        return v
                    }
                    // G g (4 × 3), column by column.
                    let c0 = gRows(tap(0), tap(3), tap(6))
                    let c1 = gRows(tap(1), tap(4), tap(7))
                    let c2 = gRows(tap(2), tap(5), tap(8))
                    // Lane k goes to (oc, ic + k): `step` floats apart (adjacent when row-major).
                    let (offset, step) = layout.place(row: oc, column: ic, o: o, c: c)
                    let base = u + offset
                    @inline(__always)
                    func store(_ xi: Int, _ values: SIMD8<Double>) {
                        let row = base + xi * plane
                        let narrow = SIMD8<Float>(values)
                        if lanes == 8 && step == 1 {
                            storeVec8(narrow, row)
                        } else if lanes == 8 {
                            row[0] = narrow[0]; row[step] = narrow[1]; row[2 * step] = narrow[2]
                            row[3 * step] = narrow[3]; row[4 * step] = narrow[4]; row[5 * step] = narrow[5]
                            row[6 * step] = narrow[6]; row[7 * step] = narrow[7]
                        } else {
                            for k in 0..<lanes { row[k * step] = narrow[k] }
                        }
                    }
                    @inline(__always)
                    func storeRow(_ i: Int, _ r: (SIMD8<Double>, SIMD8<Double>, SIMD8<Double>, SIMD8<Double>)) {
                        store(i * 4, r.0); store(i * 4 + 1, r.1); store(i * 4 + 2, r.2); store(i * 4 + 3, r.3)
                    }
                    // Each row of G g times Gᵀ gives one row of U.
                    storeRow(0, gRows(c0.0, c1.0, c2.0))
                    storeRow(1, gRows(c0.1, c1.1, c2.1))
                    storeRow(2, gRows(c0.2, c1.2, c2.2))
                    storeRow(3, gRows(c0.3, c1.3, c2.3))
                    ic += lanes
                }
            }
        }
        return filters
    }

    /// V[ξ][c][t] = (Bᵀ d B)[ξ] for the input tiles of the block, for `channels`.
    static func transformInput(_ g: ConvGeometry, _ tiling: Tiling, x: UnsafePointer<Float>, t0: Int, t1: Int,
                               channels: Range<Int>, v: UnsafeMutablePointer<Float>, ld: Int) {
        if tiling.size == 4 {
            Winograd4.transformInput(g, tiling, x: x, t0: t0, t1: t1, channels: channels, v: v, ld: ld)
            return
        }
        if KernelISA.current != .portable {
            transformInputFromPlanes(g, tiling, x: x, t0: t0, t1: t1, channels: channels, v: v, ld: ld)
            return
        }
        transformInputInSwift(g, tiling, x: x, t0: t0, t1: t1, channels: channels, v: v, ld: ld)
    }

    /// `transformInput` on CPanelKernels' kernel at the CPU's width, reading the input planes in place:
    /// the padding is masked loads, so no padded copy of each row is made (that copy was a third of
    /// the transform's time in a ResNet-18 training step).
    static func transformInputFromPlanes(_ g: ConvGeometry, _ tiling: Tiling, x: UnsafePointer<Float>, t0: Int,
                                         t1: Int, channels: Range<Int>, v: UnsafeMutablePointer<Float>, ld: Int) {
        let channelStride = g.inChannels * ld, avx512 = KernelISA.current == .avx512
        for c in channels {
            forEachRun(tiling, t0: t0, t1: t1) { n, ty, tx0, tx1, column in
                let plane = x + (n * g.inChannels + c) * g.inPlane
                @inline(__always)
                func row(_ i: Int) -> UnsafePointer<Float>? {
                    let ih = 2 * ty - g.padTop + i
                    return ih >= 0 && ih < g.inH ? plane + ih * g.inW : nil
                }
                let col = 2 * tx0 - g.padLeft, run = v + c * ld + column
                if avx512 {
                    graft_winograd_input_avx512(row(0), row(1), row(2), row(3), col, g.inW, tx1 - tx0, run, channelStride)
                } else {
                    graft_winograd_input_avx2(row(0), row(1), row(2), row(3), col, g.inW, tx1 - tx0, run, channelStride)
                }
            }
        }
    }

    /// y = Aᵀ M A + bias, activated, for the tiles of the block and `outChannels`, with
    /// Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]].
    static func transformOutput(_ g: ConvGeometry, _ tiling: Tiling, m: UnsafeMutablePointer<Float>, ld: Int,
                                t0: Int, t1: Int, outChannels: Range<Int>,
                                y: UnsafeMutablePointer<Float>, epilogue e: ConvEpilogue) {
        // F(4×4) runs only where the kernels do, and only for these two (see `forward`).
        if tiling.size == 4 || KernelISA.current != .portable, e.activation == .none || e.activation == .relu {
            transformOutputOnKernel(g, tiling, m: m, ld: ld, t0: t0, t1: t1, outChannels: outChannels, y: y, epilogue: e)
            return
        }
        if ActivationKernels.code(e.activation) != nil {
            // SiLU, sigmoid, GELU: the transform with bias and residual, then the activation's C kernel on
            // each output row it wrote (EfficientNetV2's fused blocks), as every other path applies them.
            let plain = ConvEpilogue(bias: e.bias, residual: e.residual, output: e.output, activation: .none)
            transformOutputOnKernel(g, tiling, m: m, ld: ld, t0: t0, t1: t1, outChannels: outChannels, y: y, epilogue: plain)
            let size = tiling.size
            for o in outChannels {
                forEachRun(tiling, t0: t0, t1: t1) { n, ty, tx0, tx1, _ in
                    let out = y + (n * g.outChannels + o) * g.outPlane + size * ty * g.outW + size * tx0
                    let columns = min(g.outW - size * tx0, size * (tx1 - tx0)), rows = min(size, g.outH - size * ty)
                    for r in 0..<rows { ActivationKernels.finish(e.activation, out + r * g.outW, columns) }
                }
            }
            return
        }
        // One specialized loop per activation, so the per-vector code has no switch.
        switch e.activation {
        case .none: transformOutput(g, tiling, m, ld, t0, t1, outChannels, y, e) { $0 }
        case .relu: transformOutput(g, tiling, m, ld, t0, t1, outChannels, y, e) { Lanes.relu($0) }
        case .relu6, .silu, .sigmoid, .hardswish, .hardsigmoid, .gelu:
            transformOutput(g, tiling, m, ld, t0, t1, outChannels, y, e) { activated($0, e.activation) }
        }
    }

    /// `transformOutput` without an activation or with ReLU (ResNet's and VGG's) on CPanelKernels'
    /// kernel at the CPU's width, for either tile size.
    static func transformOutputOnKernel(_ g: ConvGeometry, _ tiling: Tiling, m: UnsafeMutablePointer<Float>, ld: Int,
                                        t0: Int, t1: Int, outChannels: Range<Int>,
                                        y: UnsafeMutablePointer<Float>, epilogue e: ConvEpilogue) {
        let channelStride = PanelGemm.paddedRows(g.outChannels) * ld, avx512 = KernelISA.current == .avx512
        let relu: Int32 = e.activation == .relu ? 1 : 0, size = tiling.size
        for o in outChannels {
            let bias = e.bias?[o] ?? 0
            forEachRun(tiling, t0: t0, t1: t1) { n, ty, tx0, tx1, column in
                let out = y + (n * g.outChannels + o) * g.outPlane + size * ty * g.outW + size * tx0
                let columns = min(g.outW - size * tx0, size * (tx1 - tx0)), rows = min(size, g.outH - size * ty)
                let src = UnsafePointer(m + o * ld + column), residual = e.residual(at: out), tiles = tx1 - tx0
                switch (size, avx512) {
                case (4, true):
                    graft_winograd4_output_avx512(src, channelStride, tiles, bias, residual, out, g.outW, columns, rows, relu)
                case (4, false):
                    graft_winograd4_output_avx2(src, channelStride, tiles, bias, residual, out, g.outW, columns, rows, relu)
                case (_, true):
                    graft_winograd_output_avx512(src, channelStride, tiles, bias, residual, out, g.outW, columns,
                                                 Int32(rows - 1), relu)
                case (_, false):
                    graft_winograd_output_avx2(src, channelStride, tiles, bias, residual, out, g.outW, columns,
                                               Int32(rows - 1), relu)
                }
            }
        }
    }

    /// G applied to one filter column (a, b, d): (a, (a + b + d)/2, (a − b + d)/2, d).
    @inline(__always)
    static func gRows(_ a: SIMD8<Double>, _ b: SIMD8<Double>, _ d: SIMD8<Double>)
        -> (SIMD8<Double>, SIMD8<Double>, SIMD8<Double>, SIMD8<Double>) {
        (a, (a + b + d) / 2, (a - b + d) / 2, d)
    }
}
