import CPanelKernels
import XCTest

/// CPanelKernels' row-blocked depthwise kernels called directly, so that both instruction sets are
/// checked on a machine that would only run one of them through `conv2d`: each against a Double
/// reference, the AVX2 and AVX-512 forward kernels against each other bit for bit (the same fused
/// multiply-adds in the same order), and nothing stored past the output plane; stride 1 and stride 2.
final class DepthwiseKernelTests: XCTestCase {
    typealias Forward = (UnsafePointer<Float>?, Int, UnsafePointer<Float>?, Int, Float, UnsafeMutablePointer<Float>?, Int, Int) -> Void
    typealias Forward2 = (UnsafePointer<Float>?, Int, UnsafePointer<Float>?, Int, Float, UnsafeMutablePointer<Float>?, Int, Int) -> Int32
    typealias FilterGradient = (UnsafePointer<Float>?, Int, UnsafePointer<Float>?, Int, Int, Int, Int, UnsafeMutablePointer<Double>?) -> Int32

    var kernels: [(name: String, forward: Forward, filterGradient: FilterGradient)] {
        var out: [(String, Forward, FilterGradient)] = []
        if graft_cpu_has_avx2_fma() != 0 {
            out.append(("avx2", graft_depthwise_rows4_avx2, graft_depthwise_rows4_avx2_filter_grad))
        }
        if graft_cpu_has_avx512f() != 0 {
            out.append(("avx512", graft_depthwise_rows4_avx512, graft_depthwise_rows4_avx512_filter_grad))
        }
        return out
    }

    /// A zero-padded plane with the readable slack the kernels need, random inside.
    struct Plane {
        let rows: Int, stride: Int
        var values: [Float]
        init(outW: Int, outH: Int, k: Int, rng: inout SplitMix) {
            rows = outH + k - 1
            stride = (outW + 15) / 16 * 16 + k - 1 + 16
            values = [Float](repeating: 0, count: rows * stride)
            for r in 0..<rows { for c in 0..<(outW + k - 1) { values[r * stride + c] = rng.float() } }
        }
    }

    struct SplitMix {
        var state: UInt64
        mutating func float() -> Float {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Float((z ^ (z >> 31)) >> 40) / Float(1 << 24) * 2 - 1
        }
    }

    func testStrideTwoOnEveryInstructionSet() throws {
        var strideTwo: [(String, Forward2, FilterGradient)] = []
        if graft_cpu_has_avx2_fma() != 0 {
            strideTwo.append(("avx2", graft_depthwise_rows4_avx2_s2, graft_depthwise_rows4_avx2_filter_grad))
        }
        if graft_cpu_has_avx512f() != 0 {
            strideTwo.append(("avx512", graft_depthwise_rows4_avx512_s2, graft_depthwise_rows4_avx512_filter_grad))
        }
        guard !strideTwo.isEmpty else { throw XCTSkip("neither AVX2+FMA nor AVX-512 on this CPU") }
        var rng = SplitMix(state: 11)
        for k in [3, 5, 7] {
            for outW in [7, 14, 16, 17, 28, 33, 56] {
                for outH in [4, 5, 9] {
                    // A plane of 2·outH + k − 2 rows and 2·(outW rounded up to 16) + k − 1 readable columns.
                    let rows = 2 * outH + k - 2, stride = 2 * ((outW + 15) / 16 * 16) + k - 1 + 16
                    var plane = [Float](repeating: 0, count: rows * stride)
                    for r in 0..<rows { for c in 0..<(2 * outW + k - 2) { plane[r * stride + c] = rng.float() } }
                    let filter = (0..<(k * k)).map { _ in rng.float() }, bias = rng.float()
                    let dy = (0..<(outW * outH)).map { _ in rng.float() }
                    var results: [[Float]] = []
                    for (name, kernel, filterGradient) in strideTwo {
                        var grad = [Double](repeating: 0, count: k * k)
                        let tookGradient = filterGradient(plane, stride, dy, k, 2, outW, outH, &grad)
                        XCTAssertEqual(tookGradient, k == 7 ? 0 : 1, "\(name) filter gradient, k \(k)")
                        for i in 0..<k where k != 7 {
                            for j in 0..<k {
                                var want = 0.0
                                for oh in 0..<outH { for ow in 0..<outW { want += Double(dy[oh * outW + ow]) * Double(plane[(2 * oh + i) * stride + 2 * ow + j]) } }
                                XCTAssertEqual(grad[i * k + j], want, accuracy: 1e-5 + 1e-5 * abs(want), "\(name) filter gradient k \(k) tap (\(i), \(j))")
                            }
                        }
                        var out = [Float](repeating: .nan, count: outW * outH + 32)
                        let took = kernel(plane, stride, filter, k, bias, &out, outW, outH)
                        guard k != 7 else {
                            XCTAssertEqual(took, 0, "\(name) took a 7×7 at stride 2")
                            XCTAssertTrue(out.allSatisfy(\.isNaN), "\(name) wrote for a filter it refused")
                            continue
                        }
                        XCTAssertEqual(took, 1)
                        XCTAssertTrue(out[(outW * outH)...].allSatisfy(\.isNaN), "\(name) k \(k) \(outH)×\(outW): stored past the plane")
                        for oh in 0..<outH {
                            for ow in 0..<outW {
                                var want = Double(bias)
                                for i in 0..<k { for j in 0..<k { want += Double(filter[i * k + j]) * Double(plane[(2 * oh + i) * stride + 2 * ow + j]) } }
                                let got = Double(out[oh * outW + ow])
                                XCTAssertEqual(got, want, accuracy: 1e-5 + 1e-5 * abs(want), "\(name) k \(k) \(outH)×\(outW) at (\(oh), \(ow))")
                            }
                        }
                        results.append(Array(out[..<(outW * outH)]))
                    }
                    if results.count == 2 { XCTAssertEqual(results[0], results[1], "AVX2 and AVX-512 differ at stride 2, k \(k)") }
                }
            }
        }
    }

    func testForwardAndFilterGradientOnEveryInstructionSet() throws {
        let available = kernels
        guard !available.isEmpty else { throw XCTSkip("neither AVX2+FMA nor AVX-512 on this CPU") }
        var rng = SplitMix(state: 7)
        for k in [1, 3, 5, 7, 9] {
            for outW in [7, 14, 16, 17, 28, 33, 56] {
                for outH in [4, 5, 9, 13] {
                    let plane = Plane(outW: outW, outH: outH, k: k, rng: &rng)
                    let filter = (0..<(k * k)).map { _ in rng.float() }
                    let dy = (0..<(outW * outH)).map { _ in rng.float() }
                    let bias = rng.float()
                    var expected = [Double](repeating: 0, count: outW * outH)
                    var expectedGrad = [Double](repeating: 0, count: k * k)
                    for oh in 0..<outH {
                        for ow in 0..<outW {
                            var sum = Double(bias)
                            for i in 0..<k {
                                for j in 0..<k {
                                    let x = Double(plane.values[(oh + i) * plane.stride + ow + j])
                                    sum += Double(filter[i * k + j]) * x
                                    expectedGrad[i * k + j] += Double(dy[oh * outW + ow]) * x
                                }
                            }
                            expected[oh * outW + ow] = sum
                        }
                    }
                    var results: [[Float]] = []
                    for kernel in available {
                        let label = "\(kernel.name) k \(k) plane \(outH)×\(outW)"
                        // 32 sentinels past the plane: masked stores must leave them alone.
                        var out = [Float](repeating: .nan, count: outW * outH + 32)
                        kernel.forward(plane.values, plane.stride, filter, k, bias, &out, outW, outH)
                        XCTAssertTrue(out[(outW * outH)...].allSatisfy(\.isNaN), "\(label): stored past the plane")
                        for (i, (got, want)) in zip(out, expected).enumerated() where abs(Double(got) - want) > 1e-5 + 1e-5 * abs(want) {
                            XCTFail("\(label): output \(i) is \(got), want \(want)")
                            break
                        }
                        results.append(Array(out[..<(outW * outH)]))
                        var grad = [Double](repeating: 0, count: k * k)
                        let took = kernel.filterGradient(plane.values, plane.stride, dy, k, 1, outW, outH, &grad)
                        if [3, 5, 7].contains(k) {
                            XCTAssertEqual(took, 1, label)
                            for (got, want) in zip(grad, expectedGrad) {
                                XCTAssertEqual(got, want, accuracy: 1e-5 + 1e-5 * abs(want), "\(label): filter gradient")
                            }
                        } else {
                            XCTAssertEqual(took, 0, label)
                            XCTAssertTrue(grad.allSatisfy { $0 == 0 }, "\(label): added to a gradient it did not take")
                        }
                    }
                    if results.count == 2 { XCTAssertEqual(results[0], results[1], "AVX2 and AVX-512 differ at k \(k), \(outH)×\(outW)") }
                }
            }
        }
    }
}
