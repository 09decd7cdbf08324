/// A register-blocked matrix multiply for operands Graft lays out itself: the Winograd products
/// `M[ξ] = U[ξ] · V[ξ]`.
///
/// OpenBLAS repacks both operands on every call and, for `beta = 0`, clears C in a pass of its own
/// before the kernel adds into it. For Winograd's many small products (O × C · C × tiles, 16 per
/// block of tiles) those passes cost about a quarter of the multiply (measured on VGG-16's
/// 64-channel layers: `sgemm_beta` 12 %, packing 7 % of the convolution). Here A is packed once,
/// when the filters are transformed, B is read in place (its rows are already contiguous tiles),
/// and each 6 × 16 block of C is stored straight from registers.
///
/// Layouts:
/// - A (m × k) is packed in panels of `rows` rows: element (r, c) at
///   `(r / rows) · rows · k + c · rows + r % rows`; rows past m are zero.
/// - B is k × n, row-major with row stride `ldb`; columns up to `paddedColumns(n)` are read, so the
///   caller keeps them inside the buffer and finite.
/// - C gets `paddedRows(m) × paddedColumns(n)` values, row-major with row stride `ldc`.
enum PanelGemm {
    /// Rows of A (and C) per register block.
    static let rows = 6
    /// Columns of B (and C) per register block: two 8-float vectors.
    static let columns = 16

    static func paddedRows(_ m: Int) -> Int { (m + rows - 1) / rows * rows }
    static func paddedColumns(_ n: Int) -> Int { (n + columns - 1) / columns * columns }

    /// Offset of A's element (row, column) in its packed form, for a matrix with `depth` columns.
    @inline(__always)
    static func packedOffset(row: Int, column: Int, depth: Int) -> Int {
        (row / rows) * rows * depth + column * rows + row % rows
    }

    /// C = A · B over whole register blocks (see the type's layouts).
    static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int) {
        let panels = paddedRows(m) / rows
        var t = 0
        // Column blocks outside, row panels inside: the k × 16 slice of B stays in L1 while every
        // panel of A streams past it.
        while t < n {
            for p in 0..<panels {
                block(k: k, a: a + p * rows * k, b: b + t, ldb: ldb, c: c + p * rows * ldc + t, ldc: ldc)
            }
            t += columns
        }
    }

    /// One 6 × 16 block of C: twelve accumulators, two loads of B and six broadcasts of A per step
    /// of k (the shape that keeps both FMA pipes of an AVX2 core busy with 16 vector registers).
    @inline(__always)
    static func block(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                      c: UnsafeMutablePointer<Float>, ldc: Int) {
        var c00 = Vec8(), c01 = Vec8(), c10 = Vec8(), c11 = Vec8(), c20 = Vec8(), c21 = Vec8()
        var c30 = Vec8(), c31 = Vec8(), c40 = Vec8(), c41 = Vec8(), c50 = Vec8(), c51 = Vec8()
        var pa = a, pb = b
        for _ in 0..<k {
            let b0 = loadVec8(pb), b1 = loadVec8(pb + 8)
            var s = Vec8(repeating: pa[0])
            c00 = madd(c00, s, b0); c01 = madd(c01, s, b1)
            s = Vec8(repeating: pa[1])
            c10 = madd(c10, s, b0); c11 = madd(c11, s, b1)
            s = Vec8(repeating: pa[2])
            c20 = madd(c20, s, b0); c21 = madd(c21, s, b1)
            s = Vec8(repeating: pa[3])
            c30 = madd(c30, s, b0); c31 = madd(c31, s, b1)
            s = Vec8(repeating: pa[4])
            c40 = madd(c40, s, b0); c41 = madd(c41, s, b1)
            s = Vec8(repeating: pa[5])
            c50 = madd(c50, s, b0); c51 = madd(c51, s, b1)
            pa += rows
            pb += ldb
        }
        storeVec8(c00, c); storeVec8(c01, c + 8)
        storeVec8(c10, c + ldc); storeVec8(c11, c + ldc + 8)
        storeVec8(c20, c + 2 * ldc); storeVec8(c21, c + 2 * ldc + 8)
        storeVec8(c30, c + 3 * ldc); storeVec8(c31, c + 3 * ldc + 8)
        storeVec8(c40, c + 4 * ldc); storeVec8(c41, c + 4 * ldc + 8)
        storeVec8(c50, c + 5 * ldc); storeVec8(c51, c + 5 * ldc + 8)
    }

    /// acc + a · b, fused when the build targets FMA hardware (the Makefile passes `-DGRAFT_FMA`
    /// with `-target-cpu haswell`). Without it LLVM would call libm's `fmaf` for every lane, about
    /// a hundred times slower than a multiply and an add.
    @inline(__always)
    static func madd(_ acc: Vec8, _ a: Vec8, _ b: Vec8) -> Vec8 {
        #if GRAFT_FMA || arch(arm64)
        acc.addingProduct(a, b)
        #else
        acc + a * b
        #endif
    }
}
