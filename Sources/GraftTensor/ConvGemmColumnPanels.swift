extension ConvGemm {
    /// Whether a convolution runs on `ColumnPanelGemm`: ungrouped, packed weights allowed, an AVX-512
    /// CPU, and output planes narrower than `options.columnPanelPlanes` pixels but of more than one
    /// pixel. Single-pixel planes (squeeze-excitation's convolutions) stay on the batched path — one
    /// product over all images — whose rounding kept the Keras EfficientNet miniature within 1e-4 of
    /// Keras (0.90 of the tolerance) where one product per image missed it (1.12); they are tiny anyway.
    static func usesColumnPanels(_ g: ConvGeometry, _ options: ConvolutionOptions) -> Bool {
        ColumnPanelGemm.available && options.packedWeights && g.groups == 1
            && g.outPlane < options.columnPanelPlanes && g.outChannels > 0 && g.outPlane > 1
    }

    /// Small planes, one image at a time: each image's product is written straight into its output
    /// (where `forwardBatched` multiplies several images side by side and then scatters the result),
    /// its row panels split among the threads. Bias, residual and ReLU are applied by the kernel as it
    /// stores each block; other activations by each thread to its own rows while they are in cache.
    /// Images whose columns need gathering (im2col) are gathered in chunks. The filters' column-panel
    /// packing is cached with the weights.
    static func forwardColumnPanels(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: Tensor,
                                    y: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue) {
        let p = g.outPlane, k = g.columnRows, m = g.outChannels
        let key = DerivedKey(kind: .columnPanels, rows: m, columns: k)
        let filters = weight.storage.derived(key) { ColumnPanelGemm.pack(m: m, k: k, a: weight.pointer, lda: k) }
        let a = UnsafePointer(filters.values)
        defer { withExtendedLifetime(filters) {} }
        let panels = ColumnPanelGemm.panels(m)
        // Below ~0.2 MFLOP a dispatch costs more than it saves (as in `Gemm.parallel`).
        let small = Double(m) * Double(p) * Double(k) < 2e5
        let blocks = (p + ColumnPanelGemm.blockColumns - 1) / ColumnPanelGemm.blockColumns
        let (rowPieces, strips) = split(panels: panels, blocks: blocks, wanted: small ? 1 : 4 * Parallel.threads)
        let pieces = rowPieces * strips
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
                gatherColumns(g, images: n0..<(n0 + images), x: x, into: buffer, imageStride: k * p, groupStride: 0, ld: p)
                columns = UnsafePointer(buffer)
                ldColumns = p
                columnsStride = k * p
            }
            let yChunk = y + n0 * m * p
            let b = columns
            Parallel.forEach(images * pieces) { task in
                let image = task / pieces, piece = (task % pieces) / strips, strip = task % strips
                let q0 = panels * piece / rowPieces, q1 = panels * (piece + 1) / rowPieces
                let j0 = blocks * strip / strips * ColumnPanelGemm.blockColumns
                let j1 = min(p, blocks * (strip + 1) / strips * ColumnPanelGemm.blockColumns)
                let yStrip = yChunk + image * m * p + j0, bStrip = b + image * columnsStride + j0
                ColumnPanelGemm.multiply(m: m, n: j1 - j0, k: k, a: a, panels: q0..<q1, b: bStrip, ldb: ldColumns,
                                         c: yStrip, ldc: p, bias: fused ? epilogue.bias : nil,
                                         residual: fused ? epilogue.residual(at: yStrip) : nil,
                                         relu: epilogue.activation == .relu)
                if fused || epilogue.isIdentity { return }
                for o in (q0 * ColumnPanelGemm.panelRows)..<min(m, q1 * ColumnPanelGemm.panelRows) {
                    epilogue.apply(yStrip + o * p, count: j1 - j0, channel: o)
                }
            }
            n0 += images
        }
    }

    /// How a product of `panels` row panels and `blocks` 14-pixel column blocks is cut into about
    /// `wanted` pieces: row pieces of whole panels (a divisor of `panels`, so they are equal) times
    /// column strips of whole blocks, the number of pieces a multiple of the threads where the blocks
    /// allow. Uneven pieces idle a core at the end: 12 panels (384 channels, ConvNeXt-Tiny's third
    /// stage) cut in 8 pieces of 1 and 2 panels ran 7 : 5 on two threads.
    static func split(panels: Int, blocks: Int, wanted: Int) -> (rowPieces: Int, strips: Int) {
        guard wanted > 1, panels > 0, blocks > 0 else { return (1, 1) }
        let rowPieces = (1...min(panels, wanted)).last { panels % $0 == 0 } ?? 1
        let strips = Parallel.evenCount(min(blocks, (wanted + rowPieces - 1) / rowPieces), outer: rowPieces, limit: blocks)
        return (rowPieces, strips)
    }

    /// The column matrices [k, P] of `images` and every group into `buffer` — image i's matrix of group
    /// j at `buffer + j · groupStride + i · imageStride`, rows `ld` apart (1×1 stride-1 convolutions copy
    /// planes) — filled by every thread: channels are split too, so that one image's matrix is not left
    /// to one thread.
    static func gatherColumns(_ g: ConvGeometry, images: Range<Int>, x: UnsafePointer<Float>,
                              into buffer: UnsafeMutablePointer<Float>, imageStride: Int, groupStride: Int, ld: Int) {
        let p = g.outPlane, cg = g.groupInChannels
        let pieces = images.count * g.groups
        let chunks = min(cg, max(1, (4 * Parallel.threads + pieces - 1) / pieces))
        Parallel.forEach(pieces * chunks) { task in
            let chunk = task % chunks, group = (task / chunks) % g.groups, image = task / (chunks * g.groups)
            let channels = (cg * chunk / chunks)..<(cg * (chunk + 1) / chunks)
            let src = x + ((images.lowerBound + image) * g.inChannels + group * cg) * g.inPlane
            let dst = buffer + group * groupStride + image * imageStride
            if g.isPointwiseDirect {
                for c in channels { (dst + c * ld).update(from: src + c * g.inPlane, count: p) }
            } else {
                Im2col.fill(g, src: src, p0: 0, p1: p, dst: dst, ld: ld, channels: channels)
            }
        }
    }
}
