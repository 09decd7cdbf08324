import GraftTensor
import XCTest

final class GemmTests: XCTestCase {
    /// C = alpha·op(A)·op(B) + beta·C over transposes, padded leading dimensions, vector-shaped
    /// products (the sgemv route), sizes that split across threads, and k = 0.
    func testAgainstNaiveProduct() throws {
        var rng = TestRandom(seed: 7)
        let shapes = [(1, 1, 1), (3, 5, 7), (1, 300, 40), (300, 1, 40), (1, 1, 500), (64, 600, 33), (600, 40, 20),
                      (17, 19, 0), (2, 2048, 16), (40, 3000, 8)]
        for (m, n, k) in shapes {
            for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
                for (alpha, beta) in [(Float(1), Float(0)), (Float(0.5), Float(2))] {
                    let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 1, ldc = n + 2
                    let a = (0..<(transA ? k : m) * lda).map { _ in rng.float() }
                    let b = (0..<(transB ? n : k) * ldb).map { _ in rng.float() }
                    var c = (0..<m * ldc).map { _ in rng.float() }
                    var expected = c.map(Double.init)
                    for i in 0..<m {
                        for j in 0..<n {
                            var s = 0.0
                            for p in 0..<k {
                                let av = transA ? a[p * lda + i] : a[i * lda + p]
                                let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                                s += Double(av) * Double(bv)
                            }
                            expected[i * ldc + j] = Double(alpha) * s + Double(beta) * Double(c[i * ldc + j])
                        }
                    }
                    try a.withUnsafeBufferPointer { pa in
                        try b.withUnsafeBufferPointer { pb in
                            try c.withUnsafeMutableBufferPointer { pc in
                                try Gemm.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                               a: try XCTUnwrap(pa.baseAddress), lda: lda,
                                               b: try XCTUnwrap(pb.baseAddress), ldb: ldb, beta: beta,
                                               c: try XCTUnwrap(pc.baseAddress), ldc: ldc)
                            }
                        }
                    }
                    // Only the m × n block is defined; padding columns of C keep their values.
                    assertClose(c, expected, atol: 1e-4, rtol: 1e-4, "m\(m) n\(n) k\(k) tA\(transA) tB\(transB) β\(beta)")
                }
            }
        }
    }

    func testBetaZeroIgnoresGarbageInC() throws {
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [1, 0, 0, 1]
        for n in [1, 2] {
            var c = [Float](repeating: .nan, count: 2 * n)
            try a.withUnsafeBufferPointer { pa in
                try b.withUnsafeBufferPointer { pb in
                    try c.withUnsafeMutableBufferPointer { pc in
                        try Gemm.sgemm(transA: false, transB: false, m: 2, n: n, k: 2, alpha: 1,
                                       a: try XCTUnwrap(pa.baseAddress), lda: 2, b: try XCTUnwrap(pb.baseAddress),
                                       ldb: 2, beta: 0, c: try XCTUnwrap(pc.baseAddress), ldc: n)
                    }
                }
            }
            XCTAssertEqual(c, n == 2 ? [1, 2, 3, 4] : [1, 3])
        }
    }

    /// The comparison switches (OpenBLAS's own threads, no Winograd, col2im input gradients)
    /// give the same numbers as the defaults.
    func testAlternativeAlgorithmsAgree() throws {
        var rng = TestRandom(seed: 8)
        let x = try rng.tensor([2, 16, 12, 11]), w = try rng.tensor([24, 16, 3, 3], -0.3, 0.3)
        let p = Conv2dParams(padding: 1)
        let y = try conv2d(x, weight: w, params: p, activation: .relu)
        let dy = try rng.tensor(y.shape)
        let grads = try conv2dBackward(x: x, weight: w, gradOutput: dy, params: p)
        let alternative = ConvolutionOptions(winograd: false, transposedInputGradient: false, gemmThreads: .blas)
        assertClose(try conv2d(x, weight: w, params: p, activation: .relu, options: alternative).values, y.values,
                    atol: 1e-5, rtol: 1e-5)
        let other = try conv2dBackward(x: x, weight: w, gradOutput: dy, params: p, options: alternative)
        assertClose(try XCTUnwrap(other.input).values, try XCTUnwrap(grads.input).values, atol: 1e-5, rtol: 1e-5)
        assertClose(other.weight.values, grads.weight.values, atol: 1e-4, rtol: 1e-5)
        let a = try rng.tensor([300, 200]), b = try rng.tensor([40, 200])
        assertClose(try linear(a, weight: b, threadPolicy: .blas).values, try linear(a, weight: b).values,
                    atol: 1e-5, rtol: 1e-5)
    }

    func testRejectsInvalidSizes() throws {
        var buffer = [Float](repeating: 0, count: 16)
        try buffer.withUnsafeMutableBufferPointer { p in
            let base = try XCTUnwrap(p.baseAddress)
            XCTAssertThrowsError(try Gemm.sgemm(transA: false, transB: false, m: 2, n: 2, k: 3, alpha: 1,
                                                a: base, lda: 2, b: base, ldb: 2, beta: 0, c: base, ldc: 2))
            XCTAssertThrowsError(try Gemm.sgemm(transA: false, transB: false, m: -1, n: 2, k: 2, alpha: 1,
                                                a: base, lda: 2, b: base, ldb: 2, beta: 0, c: base, ldc: 2))
            XCTAssertThrowsError(try Gemm.sgemmSingleThreaded(transA: false, transB: false, m: 1 << 40, n: 1, k: 1,
                                                              alpha: 1, a: base, lda: 1, b: base, ldb: 1, beta: 0,
                                                              c: base, ldc: 1))
        }
        XCTAssertFalse(Gemm.backendDescription.isEmpty)
    }
}

final class ParallelTests: XCTestCase {
    func testEveryIndexRunsOnce() {
        for count in [0, 1, 2, 3, 17, 1000] {
            var hits = [Int](repeating: 0, count: count)
            hits.withUnsafeMutableBufferPointer { h in
                let base = h.baseAddress
                Parallel.forEach(count) { i in base?[i] += 1 }
            }
            XCTAssertEqual(hits, [Int](repeating: 1, count: count), "count \(count)")
        }
    }

    func testNestedCallsRunInline() {
        var hits = [Int](repeating: 0, count: 64)
        hits.withUnsafeMutableBufferPointer { h in
            let base = h.baseAddress
            Parallel.forEach(8) { i in
                Parallel.forEach(8) { j in base?[i * 8 + j] += 1 }
            }
        }
        XCTAssertEqual(hits, [Int](repeating: 1, count: 64))
    }

    func testRangesCoverExactly() {
        for (count, grain) in [(10, 100), (1000, 7), (12345, 1000), (5, 1)] {
            var hits = [Int](repeating: 0, count: count)
            hits.withUnsafeMutableBufferPointer { h in
                let base = h.baseAddress
                Parallel.forRanges(count, grain: grain) { r in for i in r { base?[i] += 1 } }
            }
            XCTAssertEqual(hits, [Int](repeating: 1, count: count))
        }
    }

    func testThreadCountSetting() {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        Parallel.threads = 0
        XCTAssertEqual(Parallel.threads, 1)
        Parallel.threads = 3
        XCTAssertEqual(Parallel.threads, 3)
        var hits = [Int](repeating: 0, count: 100)
        hits.withUnsafeMutableBufferPointer { h in
            let base = h.baseAddress
            Parallel.forEach(100) { i in base?[i] += 1 }
        }
        XCTAssertEqual(hits, [Int](repeating: 1, count: 100))
    }
}
