import CPanelKernels
#if canImport(Glibc)
import Glibc
#endif

/// A register-blocked matrix multiply whose A operand (the filters) is packed once and cached with
/// the weights, for convolutions and the Winograd products.
///
/// OpenBLAS repacks both operands on every call and, for `beta = 0`, clears C in a pass of its own
/// before its kernel adds into it. At inference, and most of all at batch 1, the filters outweigh
/// the activations, so those passes are a large share of the work (VGG-16's 64-channel Winograd
/// products: `sgemm_beta` 12 %, packing 7 % of the convolution). Here A is packed once and each
/// 6 × 16 block of C is stored straight from registers.
///
/// Layouts:
/// - A (m × k) is packed in panels of `rows` rows: element (r, c) at
///   `(r / rows) · rows · k + c · rows + r % rows`; rows past m are zero.
/// - B is k × n, row-major with row stride `ldb`; C is m × n, row-major with row stride `ldc`.
///   Nothing outside them is read or written.
///
/// B is copied into 16-column slices as it is used (one pass, much smaller than the multiply).
enum PanelGemm {
    /// Whether the 6 × 32 AVX-512 block runs here (CPanelKernels; checked once, at run time).
    /// `GRAFT_NO_AVX512` set keeps the AVX2 blocks, to measure an AVX-512 machine as an AVX2 one.
    static let avx512 = graft_cpu_has_avx512f() != 0 && getenv("GRAFT_NO_AVX512") == nil

    /// Whether a convolution's product with `n` columns (output pixels) runs faster on OpenBLAS: with
    /// the AVX-512 block, products narrower than a 28×28 plane lost to OpenBLAS's 512-bit kernel
    /// (EfficientNet-B0's 1×1 layers at 14×14 and 7×7 up to 1.6×, `GraftKernelBench --ab panels`)
    /// while wider ones won (ResNet-50's up to 1.15×).
    @inline(__always)
    static func prefersBLAS(n: Int) -> Bool { avx512 && BLASRuntime.usesAVX512Kernels && n < 784 }

    // Convolutions use it when `ConvolutionOptions.packedWeights` says so (else OpenBLAS). Its
    // blocks are AVX2 (8-wide FMA), and on AVX-512 CPUs pairs of 16-column slices go through the
    // 6 × 32 zmm block of CPanelKernels instead (same FMAs in the same order: same results).

    /// Rows of A (and C) per register block.
    static let rows = 6
    /// Columns of B (and C) per register block: two 8-float vectors.
    static let columns = 16
    /// Depth per pass: a 256 × 16 slice of B (16 KB) stays in L1 while the panels of A stream past.
    static let depthBlock = 256
    /// Floats of A per row block: stays in L2 while the column blocks of B go by.
    static let rowBlockFloats = 48 * 1024

    static func paddedRows(_ m: Int) -> Int { (m + rows - 1) / rows * rows }
    static func paddedColumns(_ n: Int) -> Int { (n + columns - 1) / columns * columns }

    /// Offset of A's element (row, column) in its packed form, for a matrix with `depth` columns.
    @inline(__always)
    static func packedOffset(row: Int, column: Int, depth: Int) -> Int {
        (row / rows) * rows * depth + column * rows + row % rows
    }

    /// C = A (packed) · B on the calling thread.
    ///
    /// Loops, outermost first: depth blocks (later ones add to C), row blocks of A that fit in L2,
    /// column blocks of B (a slice that fits in L1), row panels. Each depth block of B is first
    /// copied into contiguous 16-column slices (`packedB`: already done by the caller, see `packB`):
    /// read in place, a slice's rows lie a plane apart, and with strides like 4 KB (a 32×32 plane)
    /// or 12.25 KB (56×56) they fall into a few L1 sets and evict each other (measured: 1024³ on one
    /// core 36 ms in place, 25 ms copied, as OpenBLAS). The last slice is zero-padded (8 wide when
    /// it can be) and partial blocks of C go through a register-sized buffer, so callers need no
    /// padding.
    static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int, packedB: UnsafePointer<Float>? = nil) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            for r in 0..<m { (c + r * ldc).update(repeating: 0, count: n) }
            return
        }
        let shape = SliceShape(n: n, k: k)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * columns) { scratch in
            let tile = scratch.baseAddress!
            for d in 0..<shape.depthBlocks {
                let (k0, k1) = shape.depthRange(d)
                let kc = k1 - k0, accumulate = d > 0
                let slices: UnsafePointer<Float>
                if let packedB {
                    slices = packedB + k0 * shape.blocks * columns
                } else {
                    let buffer = Scratch.buffer(.panelSlices, count: shape.blocks * kc * columns)
                    shape.copy(b + k0 * ldb, ldb: ldb, rows: kc, blocks: 0..<shape.blocks, to: buffer)
                    slices = UnsafePointer(buffer)
                }
                let blockRows = max(rows, rowBlockFloats / kc / rows * rows)
                var m0 = 0
                while m0 < m {
                    let m1 = min(m, m0 + blockRows)
                    var j = 0
                    while j < shape.blocks {
                        let t = j * columns, width = min(columns, n - t)
                        let bSlice = slices + j * kc * columns, ldSlice = shape.stride(j)
                        // Two full 16-column slices side by side: one 6 × 32 AVX-512 block per panel.
                        let pair = Self.avx512 && j + 1 < shape.blocks && n - t >= 2 * columns
                        var r = m0
                        while r < m1 {
                            let height = min(rows, m1 - r)
                            let aPanel = a + r * k + k0 * rows
                            let cBlock = c + r * ldc + t
                            if pair && height == rows {
                                graft_panel_block_6x32_avx512(kc, aPanel, bSlice, bSlice + kc * columns, columns, cBlock, ldc,
                                                              accumulate ? 1 : 0)
                            } else if pair {
                                // A last partial panel: each of the two slices as its own block.
                                for half in 0..<2 {
                                    sliceBlock(k: kc, a: aPanel, b: bSlice + half * kc * columns, ldb: columns,
                                               c: cBlock + half * columns, ldc: ldc, height: height, width: columns,
                                               tile: tile, accumulate: accumulate)
                                }
                            } else {
                                sliceBlock(k: kc, a: aPanel, b: bSlice, ldb: ldSlice, c: cBlock, ldc: ldc, height: height,
                                           width: width, tile: tile, accumulate: accumulate)
                            }
                            r += rows
                        }
                        j += pair ? 2 : 1
                    }
                    m0 = m1
                }
            }
        }
    }

    /// One panel of A times one 16-column slice of B into C: straight from registers when the block is
    /// whole, else through `tile` (a register-sized buffer) so partial blocks write only what C has.
    @inline(__always)
    private static func sliceBlock(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                                   c: UnsafeMutablePointer<Float>, ldc: Int, height: Int, width: Int,
                                   tile: UnsafeMutablePointer<Float>, accumulate: Bool) {
        if height == rows && width == columns {
            block(k: k, a: a, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
            return
        }
        if accumulate { copy(UnsafePointer(c), ldc, to: tile, columns, height, width) }
        if ldb == 8 {
            narrowBlock(k: k, a: a, b: b, c: tile, ldc: columns, accumulate: accumulate)
        } else {
            block(k: k, a: a, b: b, ldb: ldb, c: tile, ldc: columns, accumulate: accumulate)
        }
        copy(UnsafePointer(tile), columns, to: c, ldc, height, width)
    }

    /// How `multiply` cuts B: depth blocks of about `depthBlock` rows and 16-column blocks, the last
    /// of which may be partial (stored 8 wide when it has at most 8 columns).
    struct SliceShape {
        let n: Int, k: Int
        let depthBlocks: Int, blocks: Int, lastStride: Int

        init(n: Int, k: Int) {
            self.n = n
            self.k = k
            depthBlocks = max(1, (k + depthBlock - 1) / depthBlock)
            blocks = (n + columns - 1) / columns
            lastStride = n - (blocks - 1) * columns <= 8 ? 8 : columns
        }

        /// Rows k0..<k1 of depth block d (near-equal blocks).
        func depthRange(_ d: Int) -> (Int, Int) { (k * d / depthBlocks, k * (d + 1) / depthBlocks) }
        /// Row stride of column block j's copied slice.
        func stride(_ j: Int) -> Int { j == blocks - 1 ? lastStride : columns }
        /// Floats of the copied form of all of B (`packB`).
        var packedCount: Int { k * blocks * columns }

        /// Copies column blocks `range` of `rows` rows of B into contiguous slices (block j at
        /// `(j − range.lowerBound) · rows · 16`, row stride `stride(j)`, zero-padded).
        func copy(_ b: UnsafePointer<Float>, ldb: Int, rows: Int, blocks range: Range<Int>,
                  to dst: UnsafeMutablePointer<Float>) {
            for j in range {
                let width = min(columns, n - j * columns), ld = stride(j)
                let slice = dst + (j - range.lowerBound) * rows * columns
                var src = b + j * columns
                if width == columns {
                    for r in 0..<rows {
                        storeVec8(loadVec8(src), slice + r * columns)
                        storeVec8(loadVec8(src + 8), slice + r * columns + 8)
                        src += ldb
                    }
                } else {
                    for r in 0..<rows {
                        let row = slice + r * ld
                        for i in 0..<width { row[i] = src[i] }
                        for i in width..<ld { row[i] = 0 }
                        src += ldb
                    }
                }
            }
        }
    }

    /// All of B in the copied form `multiply(packedB:)` reads, made once and shared when several
    /// threads multiply different rows by the same B. `dst` holds `SliceShape.packedCount` floats.
    static func packB(n: Int, k: Int, b: UnsafePointer<Float>, ldb: Int, into dst: UnsafeMutablePointer<Float>) {
        let shape = SliceShape(n: n, k: k)
        Parallel.forEach(shape.depthBlocks) { d in
            let (k0, k1) = shape.depthRange(d)
            shape.copy(b + k0 * ldb, ldb: ldb, rows: k1 - k0, blocks: 0..<shape.blocks,
                       to: dst + k0 * shape.blocks * columns)
        }
    }

    /// `multiply` on all cores: column blocks per thread when C is wide; otherwise row panels per
    /// thread, over one shared copy of B.
    static func parallelMultiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                                 c: UnsafeMutablePointer<Float>, ldc: Int) {
        let threads = Parallel.threads
        // Below ~0.2 MFLOP a dispatch costs more than it saves (as in `Gemm.parallel`).
        guard threads > 1, k > 0, Double(m) * Double(n) * Double(k) >= 2e5 else {
            multiply(m: m, n: n, k: k, a: a, b: b, ldb: ldb, c: c, ldc: ldc)
            return
        }
        let panels = paddedRows(m) / rows, blocks = paddedColumns(n) / columns
        // Four pieces per thread balance uneven progress; each piece keeps whole register blocks.
        if blocks >= 8 * threads || blocks >= panels {
            let pieces = min(blocks, 4 * threads)
            Parallel.forEach(pieces) { i in
                let t0 = blocks * i / pieces * columns, t1 = min(n, blocks * (i + 1) / pieces * columns)
                multiply(m: m, n: t1 - t0, k: k, a: a, b: b + t0, ldb: ldb, c: c + t0, ldc: ldc)
            }
        } else {
            let shared = Scratch.buffer(.panelSharedSlices, count: SliceShape(n: n, k: k).packedCount)
            packB(n: n, k: k, b: b, ldb: ldb, into: shared)
            let pieces = min(panels, 4 * threads)
            Parallel.forEach(pieces) { i in
                let r0 = panels * i / pieces * rows, r1 = min(m, panels * (i + 1) / pieces * rows)
                multiply(m: r1 - r0, n: n, k: k, a: a + r0 * k, b: b, ldb: ldb, c: c + r0 * ldc, ldc: ldc,
                         packedB: UnsafePointer(shared))
            }
        }
    }

    @inline(__always)
    private static func copy(_ src: UnsafePointer<Float>, _ lds: Int, to dst: UnsafeMutablePointer<Float>, _ ldd: Int,
                             _ height: Int, _ width: Int) {
        for r in 0..<height { (dst + r * ldd).update(from: src + r * lds, count: width) }
    }

    /// A's packed form (see the type's layouts) for a row-major m × k matrix with row stride `lda`.
    static func pack(m: Int, k: Int, a: UnsafePointer<Float>, lda: Int) -> FloatBuffer {
        let packed = FloatBuffer(count: paddedRows(m) * k)
        let p = packed.values
        Parallel.forRanges(paddedRows(m) / rows, grain: max(1, 8192 / max(rows * k, 1))) { panels in
            for panel in panels {
                let dst = p + panel * rows * k
                for i in 0..<rows {
                    let r = panel * rows + i
                    if r < m {
                        let src = a + r * lda
                        for j in 0..<k { dst[j * rows + i] = src[j] }
                    } else {
                        for j in 0..<k { dst[j * rows + i] = 0 }
                    }
                }
            }
        }
        return packed
    }
}

/// A float buffer owned by an object, for operands derived once from a weight tensor and cached
/// with it (packed filters, Winograd's transformed filters). In training the weights change every
/// step, so these are made anew every step: they come from `TensorBufferCache` like tensors do, so
/// that the same sizes are handed back instead of being mapped (and page-faulted) afresh each time.
final class FloatBuffer {
    let values: UnsafeMutablePointer<Float>
    private let bytes: Int
    init(count: Int) {
        bytes = max(count, 1) * MemoryLayout<Float>.stride
        values = TensorBufferCache.allocate(bytes: bytes).bindMemory(to: Float.self, capacity: max(count, 1))
    }
    deinit { TensorBufferCache.release(UnsafeMutableRawPointer(values), bytes: bytes) }
}
