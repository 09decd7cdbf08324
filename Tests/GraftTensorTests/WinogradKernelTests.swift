import CPanelKernels
import XCTest

/// CPanelKernels' Winograd F(2×2, 3×3) transforms called directly, so both instruction sets are
/// checked on a machine whose `conv2d` runs only one of them: the input transform Bᵀ d B (straight
/// from the input rows, padding masked), the output transform Aᵀ M A with bias, residual and ReLU,
/// and the weight gradient's output-gradient transform A ∂y Aᵀ against the definitions, for runs of
/// every length around the vector widths, the plane's edges, nothing read or stored past them.
final class WinogradKernelTests: XCTestCase {
    typealias Input = (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
                       Int, Int, Int, UnsafeMutablePointer<Float>?, Int) -> Void
    typealias Output = (UnsafePointer<Float>?, Int, Int, Float, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Int,
                        Int32, Int32) -> Void
    typealias OutputGradient = (UnsafePointer<Float>?, UnsafePointer<Float>?, Int, Int, UnsafeMutablePointer<Float>?,
                                Int) -> Void

    var kernels: [(name: String, input: Input, output: Output, outputGradient: OutputGradient)] {
        var out: [(String, Input, Output, OutputGradient)] = []
        if graft_cpu_has_avx2_fma() != 0 {
            out.append(("avx2", graft_winograd_input_avx2, graft_winograd_output_avx2, graft_winograd_output_gradient_avx2))
        }
        if graft_cpu_has_avx512f() != 0 {
            out.append(("avx512", graft_winograd_input_avx512, graft_winograd_output_avx512, graft_winograd_output_gradient_avx512))
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
                // Rows of exactly `width` floats then a NaN (a read past them would show), a run starting in the
                // left padding or inside, ending inside or in the right padding, a row of zero padding.
                for (col, width) in [(-1, 2 * tiles + 1), (0, 2 * tiles + 2), (3, 2 * tiles + 9), (-1, 2 * tiles - 3)] where width > 0 {
                    for missing in [-1, 0, 3] {
                        let rows = (0..<4).map { _ in (0..<width).map { _ in rng.float() } + [.nan] }
                        func d(_ r: Int, _ column: Int) -> Float {
                            r == missing || column < 0 || column >= width ? 0 : rows[r][column]
                        }
                        let stride = tiles + 5
                        var dst = [Float](repeating: Self.sentinel, count: 16 * stride)
                        rows[0].withUnsafeBufferPointer { r0 in rows[1].withUnsafeBufferPointer { r1 in
                            rows[2].withUnsafeBufferPointer { r2 in rows[3].withUnsafeBufferPointer { r3 in
                                let p = [r0, r1, r2, r3].enumerated().map { $0.offset == missing ? nil : $0.element.baseAddress }
                                kernel.input(p[0], p[1], p[2], p[3], col, width, tiles, &dst, stride)
                            } }
                        } }
                        for t in 0..<tiles {
                            for i in 0..<4 {
                                for j in 0..<4 {
                                    // (Bᵀ d B)[i][j] = Σ_r Σ_c Bᵀ[i][r] d[r][c] Bᵀ[j][c]
                                    var expected: Float = 0
                                    for r in 0..<4 { for c in 0..<4 { expected += Self.bt[i][r] * d(r, col + 2 * t + c) * Self.bt[j][c] } }
                                    XCTAssertEqual(dst[(4 * i + j) * stride + t], expected, accuracy: 1e-5,
                                                   "\(kernel.name) tiles \(tiles) col \(col) width \(width) tile \(t) ξ \(4 * i + j)")
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

    func testOutputTransformOnEveryInstructionSet() throws {
        guard !kernels.isEmpty else { throw XCTSkip("neither AVX2+FMA nor AVX-512 on this CPU") }
        var rng = DepthwiseKernelTests.SplitMix(state: 7)
        for kernel in kernels {
            for tiles in [1, 4, 7, 8, 9, 16, 17, 28, 33] {
                for columns in [2 * tiles, 2 * tiles - 1] {
                    for (twoRows, relu, withResidual) in [(true, false, false), (false, true, true), (true, true, true)] {
                        let stride = tiles + 3, outW = columns + 4
                        // M exactly 16 planes long: a read past the run's last tile in the last plane would fault
                        // or, elsewhere, bring in NaN.
                        var m = [Float](repeating: .nan, count: 15 * stride + tiles)
                        for xi in 0..<16 { for t in 0..<tiles { m[xi * stride + t] = rng.float() } }
                        let residual = (0..<(2 * outW)).map { _ in rng.float() }
                        var out = [Float](repeating: Self.sentinel, count: 2 * outW)
                        let bias = rng.float()
                        residual.withUnsafeBufferPointer { res in
                            kernel.output(m, stride, tiles, bias, withResidual ? res.baseAddress : nil, &out, outW, columns,
                                          twoRows ? 1 : 0, relu ? 1 : 0)
                        }
                        for r in 0..<2 {
                            for column in 0..<outW {
                                let index = r * outW + column
                                guard column < columns, r == 0 || twoRows else {
                                    XCTAssertEqual(out[index], Self.sentinel, "\(kernel.name) wrote (\(r), \(column))")
                                    continue
                                }
                                // y[r][c] = Σ_i Σ_j Aᵀ[r][i] M[i][j] Aᵀ[c][j] with Aᵀ = A transposed.
                                let t = column / 2, c = column % 2
                                var expected = bias
                                for i in 0..<4 { for j in 0..<4 { expected += Self.a[i][r] * m[(4 * i + j) * stride + t] * Self.a[j][c] } }
                                if withResidual { expected += residual[index] }
                                if relu { expected = max(expected, 0) }
                                XCTAssertEqual(out[index], expected, accuracy: 1e-5,
                                               "\(kernel.name) tiles \(tiles) columns \(columns) (\(r), \(column))")
                            }
                        }
                    }
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
