/// PanelGemm's register blocks: the innermost loops, kept apart from the blocking around them.
extension PanelGemm {
    /// One 6 × 16 block of C (= or += A panel · B slice): twelve accumulators, two loads of B and
    /// six broadcasts of A per step of k (the shape that keeps both FMA pipes of an AVX2 core busy
    /// with 16 vector registers).
    @inline(__always)
    static func block(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                      c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        var c00 = Vec8(), c01 = Vec8(), c10 = Vec8(), c11 = Vec8(), c20 = Vec8(), c21 = Vec8()
        var c30 = Vec8(), c31 = Vec8(), c40 = Vec8(), c41 = Vec8(), c50 = Vec8(), c51 = Vec8()
        if accumulate {
            c00 = loadVec8(c); c01 = loadVec8(c + 8)
            c10 = loadVec8(c + ldc); c11 = loadVec8(c + ldc + 8)
            c20 = loadVec8(c + 2 * ldc); c21 = loadVec8(c + 2 * ldc + 8)
            c30 = loadVec8(c + 3 * ldc); c31 = loadVec8(c + 3 * ldc + 8)
            c40 = loadVec8(c + 4 * ldc); c41 = loadVec8(c + 4 * ldc + 8)
            c50 = loadVec8(c + 5 * ldc); c51 = loadVec8(c + 5 * ldc + 8)
        }
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

    /// A 6 × 8 block of C from a B slice of 8 columns (row stride 8): the last block of a row.
    @inline(__always)
    static func narrowBlock(k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                            c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        var c0 = Vec8(), c1 = Vec8(), c2 = Vec8(), c3 = Vec8(), c4 = Vec8(), c5 = Vec8()
        if accumulate {
            c0 = loadVec8(c); c1 = loadVec8(c + ldc); c2 = loadVec8(c + 2 * ldc)
            c3 = loadVec8(c + 3 * ldc); c4 = loadVec8(c + 4 * ldc); c5 = loadVec8(c + 5 * ldc)
        }
        var pa = a, pb = b
        for _ in 0..<k {
            let b0 = loadVec8(pb)
            c0 = madd(c0, Vec8(repeating: pa[0]), b0); c1 = madd(c1, Vec8(repeating: pa[1]), b0)
            c2 = madd(c2, Vec8(repeating: pa[2]), b0); c3 = madd(c3, Vec8(repeating: pa[3]), b0)
            c4 = madd(c4, Vec8(repeating: pa[4]), b0); c5 = madd(c5, Vec8(repeating: pa[5]), b0)
            pa += rows
            pb += 8
        }
        storeVec8(c0, c); storeVec8(c1, c + ldc); storeVec8(c2, c + 2 * ldc)
        storeVec8(c3, c + 3 * ldc); storeVec8(c4, c + 4 * ldc); storeVec8(c5, c + 5 * ldc)
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
