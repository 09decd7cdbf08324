import CPanelKernels

/// The filters · columns product of convolutions whose output planes are small (7×7, 14×14, 28×28
/// and 56×56), and Winograd's products of few tiles, on AVX-512 machines.
///
/// `PanelGemm` runs its vectors along C's columns, the plane's pixels: a 7×7 plane is 49 of them, three
/// 16-float vectors and one lane of a fourth, and its 6 × 32 block leaves most of a 196-pixel plane to
/// partial blocks. OpenBLAS, which took these products before, repacks the filters on every call (9 %
/// of a ConvNeXt-Tiny forward). Here the vectors run down C's rows — the output channels, a multiple of
/// 16 almost everywhere — over filters packed once and cached with the weights, and a block covers 14
/// pixels (CPanelKernels' `graft_column_panel_gemm_avx512`), so 784-, 196- and 49-pixel planes are
/// whole blocks (49 = 3 · 14 + 7); the block's columns of C become rows by a transpose in registers.
///
/// A (m × k) is packed in 32-row panels: row r's element p at `32 · (r / 32) · k + w · p + r % 32`,
/// w = 32, or 16 for a last panel of at most 16 rows; rows past m are zero.
enum ColumnPanelGemm {
    /// The kernel is AVX-512 only (`PanelGemm.avx512`: the CPU has it and `GRAFT_NO_AVX512` is unset).
    static var available: Bool { PanelGemm.avx512 }
    // Which products come here: convolutions with output planes under `ConvolutionOptions.columnPanelPlanes`
    // pixels (56×56 and smaller), Winograd blocks under `WinogradBlocks.columnPanelTiles` tiles. On planes under
    // 1024 pixels these beat `PanelGemm` by up to 1.15× (ResNet-50's and ConvNeXt-Tiny's 28×28 layers) and
    // OpenBLAS by up to 1.3×; on 56×56 planes once the work was split by column strips as well as panels.
    static let panelRows = 32
    /// Columns of the kernel's register block (CP_WIDTH in column_panels.h).
    static let blockColumns = 14

    static func panels(_ m: Int) -> Int { (m + panelRows - 1) / panelRows }

    /// Floats of A's packed form.
    static func packedCount(m: Int, k: Int) -> Int {
        let rest = m % panelRows
        return (m - rest) * k + (rest == 0 ? 0 : (rest <= 16 ? 16 : 32) * k)
    }

    /// Width of the panel holding row `row` of an m-row matrix: 32, or 16 for a last panel of ≤ 16 rows.
    @inline(__always)
    static func panelWidth(row: Int, m: Int) -> Int {
        let r0 = row / panelRows * panelRows
        return m - r0 <= 16 ? 16 : panelRows
    }

    /// Offset of A's element (row, column) in its packed form; consecutive columns of a row lie
    /// `panelWidth(row:m:)` floats apart.
    @inline(__always)
    static func packedOffset(row: Int, column: Int, m: Int, k: Int) -> Int {
        row / panelRows * panelRows * k + column * panelWidth(row: row, m: m) + row % panelRows
    }

    /// A's packed form for a row-major m × k matrix with row stride `lda`.
    static func pack(m: Int, k: Int, a: UnsafePointer<Float>, lda: Int) -> FloatBuffer {
        let packed = FloatBuffer(count: packedCount(m: m, k: k))
        let p = packed.values
        Parallel.forRanges(panels(m), grain: max(1, 16384 / max(panelRows * k, 1))) { range in
            for q in range {
                let r0 = q * panelRows, rows = min(panelRows, m - r0)
                let width = panelWidth(row: r0, m: m)
                let dst = p + r0 * k
                for i in 0..<width {
                    if i < rows {
                        let src = a + (r0 + i) * lda
                        for j in 0..<k { dst[j * width + i] = src[j] }
                    } else {
                        for j in 0..<k { dst[j * width + i] = 0 }
                    }
                }
            }
        }
        return packed
    }

    /// C's rows of panels `panels` (C = A · B; B is k × n with row stride `ldb`, C m × n with `ldc`),
    /// each element stored as (sum + residual) + bias[row], then ReLU'd when `relu` (a convolution's
    /// epilogue in `ConvEpilogue`'s order; `residual` is laid out as C).
    @inline(__always)
    static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, panels: Range<Int>,
                         b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                         bias: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil, relu: Bool = false) {
        graft_column_panel_gemm_avx512(m, n, k, a, panels.lowerBound, panels.upperBound, b, ldb, c, ldc,
                                       bias, residual, relu ? 1 : 0)
    }
}
