import CPanelKernels
import XCTest

/// CPanelKernels' Winograd F(2×2, 3×3) transforms called directly, so both instruction sets are
/// checked on a machine whose `conv2d` runs only one of them: the input transform Bᵀ d B and the
/// weight gradient's output-gradient transform A ∂y Aᵀ against the definitions (exact: only adds
/// and subtracts), for runs of every length around the vector widths, the plane's right and bottom
/// edges, and nothing stored past the run's last tile.
final class WinogradKernelTests: XCTestCase {
    typealias Input = (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
                       Int, UnsafeMutablePointer<Float>?, Int) -> Void
    typealias OutputGradient = (UnsafePointer<Float>?, UnsafePointer<Float>?, Int, Int, UnsafeMutablePointer<Float>?,
                                Int) -> Void

    var kernels: [(name: String, input: Input, outputGradient: OutputGradient)] {
        var out: [(String, Input, OutputGradient)] = []
        if graft_cpu_has_avx2_fma() != 0 {
            out.append(("avx2", graft_winograd_input_avx2, graft_winograd_output_gradient_avx2))
        }
        if graft_cpu_has_avx512f() != 0 {
            out.append(("avx512", graft_winograd_input_avx512, graft_winograd_output_gradient_avx512))
        }
        return out
    }

    static let bt: [[Float]] = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    static let a: [[Float]] = [[1, 0], [1, 1], [1, -1], [0, -1]]
    static let sentinel: Float = 12345

    func testInputTransformOnEveryInstructionSet() throws {
        guard !kernels.isEmpty else { throw XCTSkip("neither AVX2+FMA nor AVX-512 on this CPU") }
        var rng = DepthwiseKernelTests.SplitMix(state: 5)
        for kernel in kernels {
            for tiles in [1, 4, 7, 8, 9, 15, 16, 17, 28, 33] {
                // Four rows readable for 2 · (tiles rounded up to 16) + 2 floats.
                let width = 2 * ((tiles + 15) / 16 * 16) + 2
                let rows = (0..<4).map { _ in (0..<width).map { _ in rng.float() } }
                let stride = tiles + 5
                var dst = [Float](repeating: Self.sentinel, count: 16 * stride)
                rows[0].withUnsafeBufferPointer { r0 in rows[1].withUnsafeBufferPointer { r1 in
                    rows[2].withUnsafeBufferPointer { r2 in rows[3].withUnsafeBufferPointer { r3 in
                        kernel.input(r0.baseAddress, r1.baseAddress, r2.baseAddress, r3.baseAddress, tiles, &dst, stride)
                    } }
                } }
                for t in 0..<tiles {
                    for i in 0..<4 {
                        for j in 0..<4 {
                            // (Bᵀ d B)[i][j] = Σ_r Σ_c Bᵀ[i][r] d[r][c] Bᵀ[j][c]
                            var expected: Float = 0
                            for r in 0..<4 { for c in 0..<4 { expected += Self.bt[i][r] * rows[r][2 * t + c] * Self.bt[j][c] } }
                            XCTAssertEqual(dst[(4 * i + j) * stride + t], expected, accuracy: 1e-5,
                                           "\(kernel.name) tiles \(tiles) tile \(t) ξ \(4 * i + j)")
                        }
                    }
                }
                for xi in 0..<16 {
                    XCTAssert(dst[(xi * stride + tiles)..<((xi + 1) * stride)].allSatisfy { $0 == Self.sentinel },
                              "\(kernel.name) tiles \(tiles): stored past the run in ξ \(xi)")
                }
            }
        }
    }

    func testOutputGradientTransformOnEveryInstructionSet() throws {
        guard !kernels.isEmpty else { throw XCTSkip("neither AVX2+FMA nor AVX-512 on this CPU") }
        var rng = DepthwiseKernelTests.SplitMix(state: 9)
        for kernel in kernels {
            for tiles in [1, 4, 7, 8, 9, 16, 17, 28, 33] {
                for inside in [2 * tiles, 2 * tiles - 1] where inside > 0 {
                    for hasRow1 in [true, false] {
                        // Exactly `inside` columns exist: a page-free read past them would still be caught
                        // by the values, which are NaN there.
                        let rows = (0..<2).map { _ in (0..<inside).map { _ in rng.float() } + [.nan] }
                        let stride = tiles + 3
                        var dst = [Float](repeating: Self.sentinel, count: 16 * stride)
                        rows[0].withUnsafeBufferPointer { r0 in rows[1].withUnsafeBufferPointer { r1 in
                            kernel.outputGradient(r0.baseAddress, hasRow1 ? r1.baseAddress : nil, inside, tiles, &dst, stride)
                        } }
                        func dy(_ r: Int, _ c: Int) -> Float {
                            (r == 1 && !hasRow1) || c >= inside ? 0 : rows[r][c]
                        }
                        for t in 0..<tiles {
                            for i in 0..<4 {
                                for j in 0..<4 {
                                    // (A ∂y Aᵀ)[i][j] = Σ_r Σ_c A[i][r] ∂y[r][c] A[j][c]
                                    var expected: Float = 0
                                    for r in 0..<2 { for c in 0..<2 { expected += Self.a[i][r] * dy(r, 2 * t + c) * Self.a[j][c] } }
                                    XCTAssertEqual(dst[(4 * i + j) * stride + t], expected, accuracy: 1e-5,
                                                   "\(kernel.name) tiles \(tiles) inside \(inside) tile \(t) ξ \(4 * i + j)")
                                }
                            }
                        }
                        for xi in 0..<16 {
                            XCTAssert(dst[(xi * stride + tiles)..<((xi + 1) * stride)].allSatisfy { $0 == Self.sentinel },
                                      "\(kernel.name) tiles \(tiles): stored past the run in ξ \(xi)")
                        }
                    }
                }
            }
        }
    }
}
