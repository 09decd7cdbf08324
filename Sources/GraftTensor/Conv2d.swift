/// 2-D convolution (cross-correlation, as `torch.nn.functional.conv2d`) with an optional fused
/// bias, residual addition and activation.
///
/// - Parameters:
///   - x: input (N, C, H, W).
///   - weight: filters (O, C/groups, kH, kW).
///   - bias: (O), or nil.
///   - params: stride, per-side padding (zeros), dilation and groups.
///   - activation: applied to `conv + bias + residual` before the result is stored.
///   - residual: a tensor shaped like the output, added before the activation (a residual
///     block's `relu(bn(conv(x)) + identity)` in one pass), or nil.
///   - options: which algorithms to use (the same result up to rounding; only speed differs).
/// - Returns: (N, O, outH, outW) with `outH = floor((H + padTop + padBottom − dH·(kH − 1) − 1) / sH) + 1`.
/// - Throws: `TensorError` when the shapes or geometry do not fit together.
public func conv2d(
    _ x: Tensor, weight: Tensor, bias: Tensor? = nil, params: Conv2dParams = Conv2dParams(),
    activation: Activation = .none, residual: Tensor? = nil, options: ConvolutionOptions = .machineDefault
) throws -> Tensor {
    let g = try ConvGeometry(op: "conv2d", input: x.shape, weight: weight.shape, params: params)
    if let bias { try checkShape("conv2d", "bias", bias, [g.outChannels]) }
    if let residual { try checkShape("conv2d", "residual", residual, g.outputShape) }
    var out = Tensor(kernelShape: g.outputShape)
    let y = out.mutablePointer()
    withExtendedLifetime((x, weight, bias, residual)) {
        let e = ConvEpilogue(bias: bias?.pointer, residual: residual?.pointer, output: y, activation: activation)
        if g.isDepthwise {
            DepthwiseConv.forward(g, x: x.pointer, weight: weight.pointer, y: y, epilogue: e)
        } else if Winograd.isApplicable(g, options) {
            Winograd.forward(g, x: x.pointer, weight: weight, y: y, epilogue: e, options: options)
        } else {
            ConvGemm.forward(g, x: x.pointer, weight: weight, y: y, epilogue: e, options: options)
        }
    }
    return out
}

/// The GEMM formulation: `y[n, group] = W[group] · columns(x[n, group])`.
enum ConvGemm {
    /// Output planes at least this large are split into column tiles per image; smaller ones
    /// are batched across images into one wider GEMM.
    static let tiledPlaneThreshold = 1024
    /// Target size of one im2col tile (floats): about half of a core's L2 cache.
    static let columnTileFloats = 128 * 1024

    static func forward(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: Tensor,
                        y: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue, options: ConvolutionOptions) {
        if usesColumnPanels(g, options) {
            forwardColumnPanels(g, x: x, weight: weight, y: y, epilogue: epilogue)
            return
        }
        let w = Weights(g, weight, options)
        withExtendedLifetime(w.packed) {
            if g.outPlane >= tiledPlaneThreshold {
                forwardTiled(g, x: x, weight: w, y: y, epilogue: epilogue)
            } else {
                forwardBatched(g, x: x, weight: w, y: y, epilogue: epilogue)
            }
        }
    }

    /// The filters as the GEMM's A: row-major [O, C/groups·kH·kW], plus their `PanelGemm` packing
    /// for ungrouped convolutions (OpenBLAS repacks A on every call; at batch 1, where the weights
    /// outweigh the activations, that repacking took 19 % of ResNet-50's time on a Zen 5 VM).
    /// The packing is cached with the weights under its own key, apart from Winograd's layouts:
    /// calls without `packedWeights` simply do not look it up.
    struct Weights {
        let pointer: UnsafePointer<Float>
        let packed: FloatBuffer?
        let threadPolicy: Gemm.ThreadPolicy

        init(_ g: ConvGeometry, _ weight: Tensor, _ options: ConvolutionOptions) {
            pointer = weight.pointer
            threadPolicy = options.gemmThreads
            guard options.packedWeights && g.groups == 1 else { packed = nil; return }
            let key = DerivedKey(kind: .panels, rows: g.outChannels, columns: g.columnRows)
            let (m, k, a) = (g.outChannels, g.columnRows, weight.pointer)
            packed = weight.storage.derived(key) { PanelGemm.pack(m: m, k: k, a: a, lda: k) }
        }

        /// C[og × n] = A[group] · B, on the calling thread or (`parallel`) on all cores.
        @inline(__always)
        func multiply(_ g: ConvGeometry, group: Int, n: Int, b: UnsafePointer<Float>, ldb: Int,
                      c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool = false) {
            let og = g.groupOutChannels, k = g.columnRows
            if let packed, !PanelGemm.prefersBLAS(n: n) {
                let a = UnsafePointer(packed.values)
                if parallel {
                    PanelGemm.parallelMultiply(m: og, n: n, k: k, a: a, b: b, ldb: ldb, c: c, ldc: ldc)
                } else {
                    PanelGemm.multiply(m: og, n: n, k: k, a: a, b: b, ldb: ldb, c: c, ldc: ldc)
                }
                return
            }
            let a = pointer + group * og * k
            if parallel {
                Gemm.parallel(transA: false, transB: false, m: og, n: n, k: k, alpha: 1,
                              a: a, lda: k, b: b, ldb: ldb, beta: 0, c: c, ldc: ldc, threadPolicy: threadPolicy)
            } else {
                Gemm.serial(transA: false, transB: false, m: og, n: n, k: k, alpha: 1,
                            a: a, lda: k, b: b, ldb: ldb, beta: 0, c: c, ldc: ldc)
            }
        }
    }

    /// Output positions per tile for a column matrix with `rows` rows.
    static func tileWidth(_ g: ConvGeometry, floats: Int = columnTileFloats, widest: Int = 1024) -> Int {
        let p = g.outPlane
        let t = g.isPointwiseDirect ? 1024 : max(128, min(widest, floats / max(g.columnRows, 1))) / 64 * 64
        // Spread evenly: ceil(p / t) tiles of near-equal width. When there are only a few tasks
        // (batch 1), make their count a multiple of the threads, or one core idles at the end:
        // a 56×56 plane in 1024-wide tiles is 3 full tiles and a sliver, 2 : 1.06 on two cores.
        var tiles = (p + t - 1) / t
        let planes = g.batch * g.groups, threads = Parallel.threads
        if planes * tiles < 4 * threads {
            tiles = Parallel.evenCount(tiles, outer: planes, limit: p)
        }
        return (p + tiles - 1) / tiles
    }

    /// Large planes: each task is (image, group, tile of output positions): im2col the tile,
    /// multiply, then bias + activation while the tile is in cache.
    static func forwardTiled(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: Weights,
                             y: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue) {
        let p = g.outPlane, k = g.columnRows, og = g.groupOutChannels, cg = g.groupInChannels
        let width = tileWidth(g)
        let tiles = (p + width - 1) / width
        Parallel.forEach(g.batch * g.groups * tiles) { task in
            let tile = task % tiles
            let group = (task / tiles) % g.groups
            let n = task / (tiles * g.groups)
            let p0 = tile * width, p1 = min(p, p0 + width)
            let xg = x + (n * g.inChannels + group * cg) * g.inPlane
            let yg = y + (n * g.outChannels + group * og) * p
            let columns: UnsafePointer<Float>
            let ld: Int
            if g.isPointwiseDirect {
                columns = xg + p0
                ld = g.inPlane
            } else {
                let buffer = Scratch.buffer(.columns, count: k * (p1 - p0))
                Im2col.fill(g, src: xg, p0: p0, p1: p1, dst: buffer, ld: p1 - p0)
                columns = UnsafePointer(buffer)
                ld = p1 - p0
            }
            weight.multiply(g, group: group, n: p1 - p0, b: columns, ldb: ld, c: yg + p0, ldc: p)
            if epilogue.isIdentity { return }
            for o in 0..<og {
                epilogue.apply(yg + o * p + p0, count: p1 - p0, channel: group * og + o)
            }
        }
    }

    /// Floats of gathered columns per batched GEMM (4 MB: stays in the last-level cache).
    static let batchedColumnFloats = 1 << 20

    /// Small planes: gather the columns of several images side by side, `[k, n·P]` per group, so
    /// one GEMM sees n·P columns instead of P (a 7×7 plane alone gives BLAS only 49), then scatter
    /// back. Images are taken in chunks that keep the gathered matrix cache-sized.
    static func forwardBatched(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: Weights,
                               y: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue) {
        let perImage = g.groups * g.columnRows * g.outPlane
        let chunk = max(1, min(g.batch, batchedColumnFloats / max(perImage, 1)))
        var n0 = 0
        while n0 < g.batch {
            let n1 = min(g.batch, n0 + chunk)
            forwardImages(g, n0: n0, n1: n1, x: x, weight: weight, y: y, epilogue: epilogue)
            n0 = n1
        }
    }

    /// `forwardBatched` for images `n0..<n1`.
    static func forwardImages(
        _ g: ConvGeometry, n0: Int, n1: Int, x: UnsafePointer<Float>, weight: Weights,
                              y: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue) {
        let p = g.outPlane, k = g.columnRows, og = g.groupOutChannels, cg = g.groupInChannels
        let images = n1 - n0, np = images * p
        let xs = x + n0 * g.inChannels * g.inPlane, ys = y + n0 * g.outChannels * p
        let direct = g.isPointwiseDirect && images == 1
        // (group) → column matrix [k, np]
        var columns = xs
        var ldColumns = g.inPlane
        if !direct {
            let buffer = Scratch.buffer(.gather, count: g.groups * k * np)
            // Images side by side: [k, n·P] per group.
            gatherColumns(g, images: n0..<n1, x: x, into: buffer, imageStride: p, groupStride: k * np, ld: np)
            columns = UnsafePointer(buffer)
            ldColumns = np
        }
        // With one image the GEMM writes the output directly; otherwise into [O, n·P].
        let product = images == 1 ? ys : Scratch.buffer(.reduction, count: g.outChannels * np)
        let columnsStride = direct ? cg * g.inPlane : k * np
        if g.groups >= Parallel.threads {
            Parallel.forEach(g.groups) { group in
                weight.multiply(g, group: group, n: np, b: columns + group * columnsStride, ldb: ldColumns,
                                c: product + group * og * np, ldc: np)
            }
        } else {
            for group in 0..<g.groups {
                weight.multiply(g, group: group, n: np, b: columns + group * columnsStride, ldb: ldColumns,
                                c: product + group * og * np, ldc: np, parallel: true)
            }
        }
        // Bias + activation, scattering (o, n·P + q) → (n, o, q) when batched.
        if images == 1 && epilogue.isIdentity { return }
        let rows = images * g.outChannels
        Parallel.forRanges(rows, grain: max(1, 16384 / max(p, 1))) { range in
            for row in range {
                let n = row / g.outChannels, o = row % g.outChannels
                let dst = ys + row * p
                if images > 1 { dst.update(from: product + o * np + n * p, count: p) }
                epilogue.apply(dst, count: p, channel: o)
            }
        }
    }
}
