import CPanelKernels
import XCTest

/// CPanelKernels' stride-2 column-matrix row against a scalar gather: every offset of the tap into the
/// padding (top/left −3 … 2), planes narrower and wider than a vector, output rows of one and of two
/// 16-float chunks; NaN around the plane shows any read outside it.
final class Im2colKernelTests: XCTestCase {
    func testStrideTwoRowsMatchTheScalarGather() throws {
        guard graft_cpu_has_avx512f() != 0 else { throw XCTSkip("no AVX-512 on this CPU") }
        for (inH, inW) in [(1, 1), (5, 7), (9, 16), (14, 33), (28, 28), (12, 61)] {
            let guardFloats = 64
            var buffer = [Float](repeating: .nan, count: inH * inW + 2 * guardFloats)
            for i in 0..<(inH * inW) { buffer[guardFloats + i] = Float(i % 97) * 0.25 - 3 }
            for top in -3...2 {
                for left in -3...2 {
                    let outH = max(1, (inH - top + 1) / 2 + 1), outW = max(1, (inW - left + 1) / 2 + 1)
                    var out = [Float](repeating: -7, count: outH * outW + 8)
                    buffer.withUnsafeBufferPointer { b in
                        graft_im2col_s2_avx512(b.baseAddress! + guardFloats, inH, inW, top, left, outH, outW, &out)
                    }
                    for oh in 0..<outH {
                        for ow in 0..<outW {
                            let ih = 2 * oh + top, iw = 2 * ow + left
                            let expected = ih >= 0 && ih < inH && iw >= 0 && iw < inW ? buffer[guardFloats + ih * inW + iw] : 0
                            XCTAssertEqual(out[oh * outW + ow], expected, "\(inH)×\(inW) top \(top) left \(left) at \(oh), \(ow)")
                        }
                    }
                    XCTAssert(out[(outH * outW)...].allSatisfy { $0 == -7 }, "\(inH)×\(inW) top \(top) left \(left): stored past the end")
                }
            }
        }
    }
}
