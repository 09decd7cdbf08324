extension ConvGemm {
    /// Whether a convolution runs on `ColumnPanelGemm`: ungrouped, packed weights allowed, an AVX-512
    /// CPU, and output planes narrower than `ColumnPanelGemm.widestProduct` pixels but of more than one
    /// pixel. Single-pixel planes (squeeze-excitation's convolutions) stay on the batched path — one
    /// product over all images — whose rounding kept the Keras EfficientNet miniature within 1e-4 of
    /// Keras (0.90 of the tolerance) where one product per image missed it (1.12); they are tiny anyway.
    static func usesColumnPanels(_ g: ConvGeometry, _ options: ConvolutionOptions) -> Bool {
        ColumnPanelGemm.available && options.packedWeights && g.groups == 1
            && g.outPlane < ColumnPanelGemm.widestProduct && g.outChannels > 0 && g.outPlane > 1
    }

    /// Small planes, one image at a time: each image's product is written straight into its output
    /// (where `forwardBatched` multiplies several images side by side and then scatters the result),
    /// its row panels split among the threads. Bias, residual and ReLU are applied by the kernel as it
    /// stores each block; other activations by each thread to its own rows while they are in cache.
    /// Images whose columns need gathering (im2col) are gathered in chunks.
    static func forwardColumnPanels(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                    y: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue) {
        let p = g.outPlane, k = g.columnRows, m = g.outChannels
        let panels = ColumnPanelGemm.panels(m)
        // Below ~0.2 MFLOP a dispatch costs more than it saves (as in `Gemm.parallel`).
        let small = Double(m) * Double(p) * Double(k) < 2e5
        let pieces = small ? 1 : min(panels, 4 * Parallel.threads)
        let direct = g.isPointwiseDirect
        let fused = epilogue.activation == .none || epilogue.activation == .relu
        let chunk = direct ? g.batch : max(1, min(g.batch, batchedColumnFloats / max(k * p, 1)))
        var n0 = 0
        while n0 < g.batch {
            let images = min(chunk, g.batch - n0)
            var columns = x + n0 * g.inChannels * g.inPlane
            var ldColumns = g.inPlane, columnsStride = g.inChannels * g.inPlane
            if !direct {
                let buffer = Scratch.buffer(.gather, count: images * k * p)
                gatherColumns(g, images: n0..<(n0 + images), x: x, into: buffer)
                columns = UnsafePointer(buffer)
                ldColumns = p
                columnsStride = k * p
            }
            let yChunk = y + n0 * m * p
            let b = columns
            Parallel.forEach(images * pieces) { task in
                let image = task / pieces, piece = task % pieces
                let q0 = panels * piece / pieces, q1 = panels * (piece + 1) / pieces
                let yImage = yChunk + image * m * p
                if fused {
                    ColumnPanelGemm.multiply(m: m, n: p, k: k, a: weight, panels: q0..<q1,
                                             b: b + image * columnsStride, ldb: ldColumns, c: yImage, ldc: p,
                                             bias: epilogue.bias, residual: epilogue.residual(at: yImage),
                                             relu: epilogue.activation == .relu)
                    return
                }
                ColumnPanelGemm.multiply(m: m, n: p, k: k, a: weight, panels: q0..<q1,
                                         b: b + image * columnsStride, ldb: ldColumns, c: yImage, ldc: p)
                if epilogue.isIdentity { return }
                for o in (q0 * ColumnPanelGemm.panelRows)..<min(m, q1 * ColumnPanelGemm.panelRows) {
                    epilogue.apply(yImage + o * p, count: p, channel: o)
                }
            }
            n0 += images
        }
    }

    /// The column matrices [k, P] of `images`, one after another, filled by every thread (channels are
    /// split too, so that one image's matrix is not left to one thread).
    private static func gatherColumns(_ g: ConvGeometry, images: Range<Int>, x: UnsafePointer<Float>,
                                      into buffer: UnsafeMutablePointer<Float>) {
        let p = g.outPlane, k = g.columnRows, cg = g.inChannels
        let chunks = min(cg, max(1, (4 * Parallel.threads + images.count - 1) / images.count))
        Parallel.forEach(images.count * chunks) { task in
            let chunk = task % chunks, image = task / chunks
            let channels = (cg * chunk / chunks)..<(cg * (chunk + 1) / chunks)
            let src = x + (images.lowerBound + image) * g.inChannels * g.inPlane
            Im2col.fill(g, src: src, p0: 0, p1: p, dst: buffer + image * k * p, ld: p, channels: channels)
        }
    }
}
