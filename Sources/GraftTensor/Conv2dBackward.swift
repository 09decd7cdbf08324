/// Gradients of `conv2d` (without its fused activation: pass the gradient with respect to the
/// convolution's pre-activation output).
///
/// - Parameters:
///   - x: the forward input (N, C, H, W).
///   - weight: the forward weight (O, C/groups, kH, kW).
///   - gradOutput: ∂L/∂y, (N, O, outH, outW).
///   - params: the forward geometry.
///   - inputGradient: whether to compute ∂L/∂x (false for a network's first layer).
///   - biasGradient: whether to compute ∂L/∂bias (a pass over ∂y); false for a layer without a
///     trained bias (ResNet's convolutions), whose returned bias gradient is then zeros.
///   - options: which algorithms to use, here and in the forward convolution that computes ∂x.
/// - Returns: ∂L/∂x (nil unless requested), ∂L/∂weight and ∂L/∂bias (O).
public func conv2dBackward(
    x: Tensor, weight: Tensor, gradOutput: Tensor, params: Conv2dParams = Conv2dParams(),
    inputGradient: Bool = true, biasGradient: Bool = true, options: ConvolutionOptions = .machineDefault
) throws -> (input: Tensor?, weight: Tensor, bias: Tensor) {
    let g = try ConvGeometry(op: "conv2dBackward", input: x.shape, weight: weight.shape, params: params)
    try checkShape("conv2dBackward", "gradOutput", gradOutput, g.outputShape)
    var dw = Tensor(kernelShape: weight.shape)
    var db = biasGradient ? Tensor(kernelShape: [g.outChannels]) : Tensor.zeros(kernelShape: [g.outChannels])
    let dwp = dw.mutablePointer(), dbp = db.mutablePointer()
    if biasGradient { withExtendedLifetime(gradOutput) { GraftTensor.biasGradient(g, dy: gradOutput.pointer, db: dbp) } }
    // Stride 1, ungrouped: ∂x is itself a convolution (of ∂y with the flipped, transposed
    // filters) that takes the fast forward paths (Winograd for 3×3) instead of GEMM + col2im.
    // (∂W as one batch-wide GEMM per tap was tried: OpenBLAS runs those thin [O × C] products at
    // 2/3 the speed of the tiled ones below.)
    if inputGradient, options.transposedInputGradient, let transposed = TransposedConvolution(g) {
        let dx = try transposed.inputGradient(gradOutput, weight: weight, options: options)
        weightGradient(g, x: x, weight: weight, gradOutput: gradOutput, dw: dwp, options: options)
        return (dx, dw, db)
    }
    if !inputGradient {
        weightGradient(g, x: x, weight: weight, gradOutput: gradOutput, dw: dwp, options: options)
        return (nil, dw, db)
    }
    // Both gradients from one pass over the columns (∂x scattered back by col2im).
    var dx = Tensor.zeros(kernelShape: x.shape)
    let dxp = dx.mutablePointer(), policy = options.gemmThreads
    withExtendedLifetime((x, weight, gradOutput)) {
        if g.isDepthwise {
            DepthwiseConvBackward.run(
                g, x: x.pointer, weight: weight.pointer, dy: gradOutput.pointer, dx: dxp, dw: dwp)
        } else {
            ConvGemmBackward.run(g, x: x.pointer, weight: weight.pointer, dy: gradOutput.pointer, dx: dxp, dw: dwp,
                                 policy: policy)
        }
    }
    return (dx, dw, db)
}

/// ∂L/∂W alone: Winograd's adjoint where the forward pass would take Winograd (2.25× fewer
/// multiplies), else the GEMM formulation.
private func weightGradient(_ g: ConvGeometry, x: Tensor, weight: Tensor, gradOutput: Tensor,
                            dw: UnsafeMutablePointer<Float>, options: ConvolutionOptions) {
    withExtendedLifetime((x, weight, gradOutput)) {
        if Winograd.isApplicable(g, options) {
            WinogradWeightGradient.run(g, x: x.pointer, dy: gradOutput.pointer, dw: dw, tileSize: Winograd.tileSize(options))
        } else if g.isDepthwise {
            DepthwiseConvBackward.run(g, x: x.pointer, weight: weight.pointer, dy: gradOutput.pointer, dx: nil, dw: dw)
        } else {
            ConvGemmBackward.run(g, x: x.pointer, weight: weight.pointer, dy: gradOutput.pointer, dx: nil, dw: dw,
                                 policy: options.gemmThreads)
        }
    }
}

/// For a stride-1 convolution, ungrouped or depthwise, with padding at most (k − 1)·d per side,
/// `∂x = conv2d(∂y, w')` with `w'[c, o, i, j] = w[o, c, kH − 1 − i, kW − 1 − j]` (depthwise: each
/// channel's own filter turned, `w'[c, 0] = rot180(w[c, 0])`, same groups) and padding `(k − 1)·d − p`
/// on each side (the mirror image of the forward padding), same dilation. Depthwise, that forward
/// convolution runs on the row-blocked depthwise kernel, where a scatter of `w · ∂y` read and wrote
/// the gradient plane once per tap (MobileNetV3-Large training step, batch 16: 420–428 → 384–390 ms).
struct TransposedConvolution {
    let params: Conv2dParams
    let g: ConvGeometry

    init?(_ g: ConvGeometry) {
        let extentH = (g.kernelH - 1) * g.dilationH, extentW = (g.kernelW - 1) * g.dilationW
        guard g.strideH == 1, g.strideW == 1, g.groups == 1 || g.isDepthwise, g.kernelH * g.kernelW > 1,
              g.padTop <= extentH, g.padBottom <= extentH, g.padLeft <= extentW, g.padRight <= extentW
        else { return nil }
        self.g = g
        params = Conv2dParams(
            stride: (1, 1),
            padding: (extentH - g.padTop, extentW - g.padLeft, extentH - g.padBottom, extentW - g.padRight),
            dilation: (g.dilationH, g.dilationW), groups: g.groups)
    }

    /// ∂x = conv2d(∂y, flippedWeight(weight)). Winograd transforms the filters from `weight` as they
    /// lie (no flipped copy: 1 % of a ResNet-18 training step).
    func inputGradient(_ dy: Tensor, weight: Tensor, options: ConvolutionOptions) throws -> Tensor {
        let flippedShape = [g.inChannels, g.isDepthwise ? 1 : g.outChannels, g.kernelH, g.kernelW]
        let t = try ConvGeometry(op: "conv2dBackward", input: dy.shape, weight: flippedShape, params: params)
        guard !t.isDepthwise, Winograd.isApplicable(t, options) else {
            return try conv2d(dy, weight: flippedWeight(weight), params: params, options: options)
        }
        var out = Tensor(kernelShape: t.outputShape)
        let y = out.mutablePointer()
        withExtendedLifetime(dy) {
            let e = ConvEpilogue(bias: nil, residual: nil, output: y, activation: .none)
            Winograd.forward(t, x: dy.pointer, weight: weight, flipped: true, y: y, epilogue: e, options: options)
        }
        return out
    }

    /// (O, C, kH, kW) → (C, O, kH, kW), each filter rotated by 180° (depthwise: (C, 1, kH, kW), each
    /// channel's filter rotated in place).
    func flippedWeight(_ weight: Tensor) -> Tensor {
        let o = g.isDepthwise ? 1 : g.outChannels, c = g.inChannels, kh = g.kernelH, kw = g.kernelW, taps = kh * kw
        var out = Tensor(kernelShape: [c, o, kh, kw])
        let dst = out.mutablePointer()
        withExtendedLifetime(weight) {
            let src = weight.pointer
            Parallel.forRanges(c, grain: max(1, 16384 / max(o * taps, 1))) { range in
                for ci in range {
                    for oc in 0..<o {
                        // Depthwise (o = 1): filter ci of the forward pass is filter ci here.
                        let from = src + (g.isDepthwise ? ci : oc * c + ci) * taps, to = dst + (ci * o + oc) * taps
                        for t in 0..<taps { to[t] = from[taps - 1 - t] }
                    }
                }
            }
        }
        return out
    }
}

/// ∂L/∂bias[o] = Σ over images and positions of ∂L/∂y[n, o, :, :].
func biasGradient(_ g: ConvGeometry, dy: UnsafePointer<Float>, db: UnsafeMutablePointer<Float>) {
    let p = g.outPlane
    Parallel.forRanges(g.outChannels, grain: max(1, 8192 / max(p * g.batch, 1))) { range in
        for o in range {
            var total = 0.0
            for n in 0..<g.batch { total += Double(sum(dy + (n * g.outChannels + o) * p, p)) }
            db[o] = Float(total)
        }
    }
}

/// Σ of `count` floats with eight partial sums (pairwise-ish accuracy, vector speed).
@inline(__always)
func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
    var acc = Vec8()
    var i = 0
    while i + 8 <= count {
        acc += loadVec8(p + i)
        i += 8
    }
    var total = acc.sum()
    while i < count {
        total += p[i]
        i += 1
    }
    return total
}

/// The GEMM formulation, per image and group, one tile of output positions at a time:
/// `∂W += ∂Y · columnsᵀ` and `∂columns = Wᵀ · ∂Y`, scattered back onto ∂x by `Im2col.accumulate`.
enum ConvGemmBackward {
    /// Target size of one backward im2col tile (floats).
    static let columnTileFloats = 512 * 1024

    static func run(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                    dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>,
                    policy: Gemm.ThreadPolicy) {
        if g.outPlane < ConvGemm.tiledPlaneThreshold {
            runBatched(g, x: x, weight: weight, dy: dy, dx: dx, dw: dw, policy: policy)
            return
        }
        let weightCount = g.outChannels * g.columnRows
        // Images are split into one contiguous chunk per thread; each chunk accumulates its own
        // weight gradient (no sharing), and the partial sums are added at the end.
        let chunks = max(1, min(Parallel.threads, g.batch))
        let partials = chunks == 1 ? dw : Scratch.buffer(.reduction, count: chunks * weightCount)
        Parallel.forEach(chunks) { chunk in
            let acc = partials + chunk * weightCount
            acc.update(repeating: 0, count: weightCount)
            for n in (g.batch * chunk / chunks)..<(g.batch * (chunk + 1) / chunks) {
                for group in 0..<g.groups {
                    image(g, n: n, group: group, x: x, weight: weight, dy: dy, dx: dx, dw: acc, policy: policy)
                }
            }
        }
        if chunks > 1 {
            Parallel.forRanges(weightCount, grain: 16384) { range in
                for i in range {
                    var total: Float = 0
                    for c in 0..<chunks { total += partials[c * weightCount + i] }
                    dw[i] = total
                }
            }
        }
    }

    /// Small planes, the mirror of `ConvGemm.forwardBatched`: per image a 14×14 or 7×7 plane
    /// would give each product an inner dimension (∂W) or width (∂columns) of only 196 or 49, and
    /// re-read the whole ∂W per image. So the columns and ∂y of several images are gathered side
    /// by side, `[k, n·P]` and `[O/g, n·P]`, and each chunk is one pair of wide GEMMs (split
    /// across threads), with ∂W accumulated in place across chunks.
    static func runBatched(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                           dw: UnsafeMutablePointer<Float>, policy: Gemm.ThreadPolicy) {
        let p = g.outPlane, k = g.columnRows, og = g.groupOutChannels, cg = g.groupInChannels
        let chunk = max(1, min(g.batch, ConvGemm.batchedColumnFloats / max(k * p, 1)))
        var n0 = 0
        while n0 < g.batch {
            let images = min(chunk, g.batch - n0), np = images * p
            for group in 0..<g.groups {
                let columns = Scratch.buffer(.gather, count: k * np)
                let grad = Scratch.buffer(.reduction, count: og * np)
                // Split channels too, so one image's matrices are filled by every thread.
                let pieces = min(cg, max(1, (4 * Parallel.threads + images - 1) / images))
                Parallel.forEach(images * pieces) { task in
                    let n = n0 + task / pieces, piece = task % pieces
                    let local = n - n0
                    let xg = x + (n * g.inChannels + group * cg) * g.inPlane
                    Im2col.fill(g, src: xg, p0: 0, p1: p, dst: columns + local * p, ld: np,
                                channels: (cg * piece / pieces)..<(cg * (piece + 1) / pieces))
                    for o in (og * piece / pieces)..<(og * (piece + 1) / pieces) {
                        let source = dy + (n * g.outChannels + group * og + o) * p
                        (grad + o * np + local * p).update(from: source, count: p)
                    }
                }
                let dwg = dw + group * og * k
                Gemm.parallel(transA: false, transB: true, m: og, n: k, k: np, alpha: 1,
                              a: grad, lda: np, b: columns, ldb: np, beta: n0 == 0 ? 0 : 1, c: dwg, ldc: k,
                              threadPolicy: policy)
                guard let dx else { continue }
                // ∂columns = Wᵀ · ∂y, then scattered back per image and channel range.
                let dcolumns = Scratch.buffer(.columns, count: k * np)
                Gemm.parallel(transA: true, transB: false, m: k, n: np, k: og, alpha: 1,
                              a: weight + group * og * k, lda: k, b: grad, ldb: np, beta: 0, c: dcolumns, ldc: np,
                              threadPolicy: policy)
                Parallel.forEach(images * pieces) { task in
                    let n = n0 + task / pieces, piece = task % pieces
                    let channels = (cg * piece / pieces)..<(cg * (piece + 1) / pieces)
                    let dxg = dx + (n * g.inChannels + group * cg) * g.inPlane
                    // `accumulate` walks channels from the group's first plane; offset both sides.
                    let firstRow = channels.lowerBound * g.kernelH * g.kernelW
                    Im2col.accumulate(g, columns: dcolumns + firstRow * np + (n - n0) * p, ld: np,
                                      p0: 0, p1: p, dst: dxg + channels.lowerBound * g.inPlane,
                                      channelCount: channels.count)
                }
            }
            n0 += images
        }
    }

    /// One image and group; `dw` is this thread's accumulator for the whole weight. The GEMMs
    /// split across threads only when this runs outside a parallel chunk (batch 1).
    static func image(_ g: ConvGeometry, n: Int, group: Int, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                      dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>,
                      policy: Gemm.ThreadPolicy) {
        let p = g.outPlane, k = g.columnRows, og = g.groupOutChannels, cg = g.groupInChannels
        let xg = x + (n * g.inChannels + group * cg) * g.inPlane
        let dxg = dx.map { $0 + (n * g.inChannels + group * cg) * g.inPlane }
        let dyg = dy + (n * g.outChannels + group * og) * p
        let wg = weight + group * og * k
        let dwg = dw + group * og * k
        if g.isPointwiseDirect {
            // columns are the input planes themselves: ∂W += ∂Y·Xᵀ, ∂X = Wᵀ·∂Y.
            Gemm.parallel(transA: false, transB: true, m: og, n: k, k: p, alpha: 1,
                        a: dyg, lda: p, b: xg, ldb: p, beta: 1, c: dwg, ldc: k, threadPolicy: policy)
            if let dxg {
                Gemm.parallel(transA: true, transB: false, m: k, n: p, k: og, alpha: 1,
                            a: wg, lda: k, b: dyg, ldb: p, beta: 0, c: dxg, ldc: p, threadPolicy: policy)
            }
            return
        }
        // Wider tiles than the forward pass: each tile's ∂W product re-reads and re-writes all
        // of ∂W (beta = 1), so fewer, deeper products win even if the tile leaves L2.
        let width = ConvGemm.tileWidth(g, floats: ConvGemmBackward.columnTileFloats, widest: 4096)
        var p0 = 0
        while p0 < p {
            let p1 = min(p, p0 + width), t = p1 - p0
            let columns = Scratch.buffer(.columns, count: k * t)
            Im2col.fill(g, src: xg, p0: p0, p1: p1, dst: columns, ld: t)
            Gemm.parallel(transA: false, transB: true, m: og, n: k, k: t, alpha: 1,
                        a: dyg + p0, lda: p, b: columns, ldb: t, beta: 1, c: dwg, ldc: k, threadPolicy: policy)
            if let dxg {
                let dcolumns = Scratch.buffer(.gather, count: k * t)
                Gemm.parallel(transA: true, transB: false, m: k, n: t, k: og, alpha: 1,
                            a: wg, lda: k, b: dyg + p0, ldb: p, beta: 0, c: dcolumns, ldc: t, threadPolicy: policy)
                Im2col.accumulate(g, columns: dcolumns, ld: t, p0: p0, p1: p1, dst: dxg)
            }
            p0 = p1
        }
    }
}
