import COpenBLAS

/// Row-major single-precision matrix multiply on OpenBLAS, with Graft's thread policy.
///
/// `C[m×n] = alpha · op(A) · op(B) + beta · C`, where `op(A)` is m×k and `op(B)` is k×n. With
/// `transA` the stored A is k×m (leading dimension `lda ≥ m`), otherwise m×k (`lda ≥ k`); likewise
/// for B. All pointers stay valid for the duration of the call.
public enum Gemm {
    /// How a large multiply uses the cores.
    public enum ThreadPolicy: Sendable, Hashable {
        /// Graft splits the output into `Parallel.threads` blocks, each an OpenBLAS call on one
        /// thread (no spinning BLAS workers competing with Graft's own threads). The default.
        case split
        /// One OpenBLAS call with `Parallel.threads` BLAS threads (for comparison benchmarks).
        /// OpenBLAS's thread count is process-wide and is set back to 1 after the call, so other
        /// callers multiplying at the same moment may run with BLAS threads too (slower, same
        /// results): compare policies from one caller at a time.
        case blas
    }

    /// The BLAS library and kernel family in use, for logs and benchmark reports.
    public static var backendDescription: String { BLASRuntime.description }

    /// Multiplies on all cores according to `threadPolicy` (a parameter rather than a global, so
    /// callers comparing the policies do not affect each other; see `ThreadPolicy` for `.blas`).
    ///
    /// - Throws: `TensorError.invalidArgument` for negative sizes, leading dimensions smaller than
    ///   the rows they step over, or values beyond BLAS's 32-bit interface.
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threadPolicy: ThreadPolicy = .split
    ) throws {
        try validate(transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc)
        parallel(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                 a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threadPolicy: threadPolicy)
    }

    /// One OpenBLAS call on the calling thread, for work the caller has already split across
    /// threads. Same contract and errors as `sgemm`.
    public static func sgemmSingleThreaded(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) throws {
        try validate(transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc)
        serial(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
               a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    static func validate(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int) throws {
        let limit = Int(Int32.max)
        let sizesFit = [m, n, k, lda, ldb, ldc].allSatisfy { $0 >= 0 && $0 <= limit }
        guard sizesFit, lda >= max(1, transA ? m : k), ldb >= max(1, transB ? k : n), ldc >= max(1, n) else {
            throw TensorError.invalidArgument(
                op: "sgemm",
                detail: "m \(m) n \(n) k \(k) lda \(lda) ldb \(ldb) ldc \(ldc) (transA \(transA), transB \(transB))")
        }
    }

    /// Internal: `sgemm` for sizes the calling kernel has validated.
    static func parallel(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threadPolicy: ThreadPolicy = .split
    ) {
        guard m > 0, n > 0 else { return }
        let threads = Parallel.threads
        let work = Double(m) * Double(n) * Double(max(k, 1))
        if threads == 1 || work < 2e5 {
            serial(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                   a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        if threadPolicy == .blas {
            _ = BLASRuntime.ready
            openblas_set_num_threads(Int32(threads))
            serial(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                   a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            openblas_set_num_threads(1)
            return
        }
        // Split columns when each block keeps a wide panel (A is packed once per block, so
        // narrow column blocks would repack A too often); otherwise split rows.
        if m == 1 && n >= 1024 * threads || n >= 256 * threads && m > 1 {
            let blocks = splitPoints(n, parts: threads, align: 16)
            Parallel.forEach(blocks.count - 1) { i in
                let c0 = blocks[i], c1 = blocks[i + 1]
                serial(transA: transA, transB: transB, m: m, n: c1 - c0, k: k, alpha: alpha,
                       a: a, lda: lda, b: transB ? b + c0 * ldb : b + c0, ldb: ldb,
                       beta: beta, c: c + c0, ldc: ldc)
            }
        } else if m >= 16 * threads && (n > 1 || m >= 1024 * threads) {
            let blocks = splitPoints(m, parts: threads, align: 16)
            Parallel.forEach(blocks.count - 1) { i in
                let r0 = blocks[i], r1 = blocks[i + 1]
                serial(transA: transA, transB: transB, m: r1 - r0, n: n, k: k, alpha: alpha,
                       a: transA ? a + r0 : a + r0 * lda, lda: lda, b: b, ldb: ldb,
                       beta: beta, c: c + r0 * ldc, ldc: ldc)
            }
        } else {
            serial(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                   a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// Internal: one OpenBLAS call on the calling thread, sizes validated by the caller.
    static func serial(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        _ = BLASRuntime.ready
        if k == 0 {
            // BLAS leaves C untouched when k == 0 only if beta == 1; make the result explicit.
            for r in 0..<m {
                let row = c + r * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
            }
            return
        }
        if n == 1 || m == 1 {
            vectorProduct(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                          a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(truncatingIfNeeded: m), Int32(truncatingIfNeeded: n), Int32(truncatingIfNeeded: k), alpha,
            a, Int32(truncatingIfNeeded: lda), b, Int32(truncatingIfNeeded: ldb), beta,
            c, Int32(truncatingIfNeeded: ldc))
    }

    /// A product with a single output row or column is a matrix-vector product, which sgemv runs
    /// at memory bandwidth while sgemm's packing makes it several times slower (VGG's first
    /// classifier layer at batch 1 reads 411 MB of weights).
    private static func vectorProduct(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        func i32(_ v: Int) -> Int32 { Int32(truncatingIfNeeded: v) }
        if n == 1 {
            // c[:, 0] = alpha · op(A) · op(B)[:, 0]
            if beta == 0 { for r in 0..<m { c[r * ldc] = 0 } }
            cblas_sgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, i32(transA ? k : m), i32(transA ? m : k),
                        alpha, a, i32(lda), b, i32(transB ? 1 : ldb), beta, c, i32(ldc))
        } else {
            // c[0, :] = alpha · op(A)[0, :] · op(B)  ⇔  c^T = op(B)^T · a^T
            if beta == 0 { c.update(repeating: 0, count: n) }
            cblas_sgemv(CblasRowMajor, transB ? CblasNoTrans : CblasTrans, i32(transB ? n : k), i32(transB ? k : n),
                        alpha, b, i32(ldb), a, i32(transA ? lda : 1), beta, c, 1)
        }
    }

    /// `parts + 1` boundaries splitting `0..<total` into near-equal blocks whose inner
    /// boundaries are multiples of `align` (empty blocks are dropped).
    static func splitPoints(_ total: Int, parts: Int, align: Int) -> [Int] {
        var points = [0]
        for p in 1..<parts {
            let cut = min(total, (total * p / parts + align / 2) / align * align)
            if cut > points[points.count - 1] && cut < total { points.append(cut) }
        }
        points.append(total)
        return points
    }
}
