import GraftTensor
import XCTest

/// conv2d against the plain Double reference over every path: pointwise (direct and batched),
/// strided 1×1, general im2col (tiled planes and batched small planes), grouped, dilated,
/// asymmetric padding, depthwise with any kernel/stride/dilation, Winograd-eligible 3×3.
final class Conv2dForwardTests: XCTestCase {
    struct Case {
        var input: [Int]
        var weight: [Int]
        var params: Conv2dParams
        var bias = true
        var activation: Activation = .none
    }

    /// Checks a case on both multiply back ends: Graft's packed-filter GEMM and OpenBLAS (the
    /// default depends on the CPU, so each machine would otherwise test only one of them).
    func check(_ c: Case, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) throws {
        for packed in [true, false] {
            try checkOnce(c, seed: seed, options: ConvolutionOptions(packedWeights: packed), file: file, line: line)
        }
    }

    func checkOnce(_ c: Case, seed: UInt64, options: ConvolutionOptions, file: StaticString, line: UInt) throws {
        var rng = TestRandom(seed: seed)
        let x = try rng.tensor(c.input)
        let w = try rng.tensor(c.weight, -0.5, 0.5)
        let b = c.bias ? try rng.tensor([c.weight[0]]) : nil
        let y = try conv2d(x, weight: w, bias: b, params: c.params, activation: c.activation, options: options)
        let ref = NaiveConv(input: c.input, weight: c.weight, params: c.params)
        XCTAssertEqual(y.shape, [ref.n, ref.o, ref.oh, ref.ow], file: file, line: line)
        let raw = ref.forward(x: x.values, weight: w.values, bias: b?.values)
        let expected = raw.map { naiveActivation($0, c.activation) }
        let backEnd = options.packedWeights ? "packed" : "OpenBLAS"
        assertClose(y.values, expected, atol: 2e-5, rtol: 2e-5, "\(c) (\(backEnd))", file: file, line: line)

        // The same with a fused residual addition (before the activation).
        let r = try rng.tensor(y.shape)
        let withResidual = try conv2d(x, weight: w, bias: b, params: c.params, activation: c.activation, residual: r,
                                      options: options)
        let expectedResidual = zip(raw, r.values).map { naiveActivation($0 + Double($1), c.activation) }
        assertClose(withResidual.values, expectedResidual, atol: 2e-5, rtol: 2e-5, "\(c) + residual (\(backEnd))", file: file, line: line)
    }

    func testPointwise() throws {
        let cases = [
            Case(input: [1, 8, 5, 7], weight: [6, 8, 1, 1], params: Conv2dParams()),
            Case(input: [3, 5, 4, 4], weight: [7, 5, 1, 1], params: Conv2dParams(), bias: false),
            Case(input: [2, 16, 40, 33], weight: [12, 16, 1, 1], params: Conv2dParams(), activation: .relu),
            Case(input: [1, 4, 37, 41], weight: [9, 4, 1, 1], params: Conv2dParams(), activation: .silu),
            Case(input: [2, 6, 9, 11], weight: [4, 6, 1, 1], params: Conv2dParams(stride: 2)),
            Case(input: [1, 6, 50, 41], weight: [4, 6, 1, 1], params: Conv2dParams(stride: 2), activation: .relu6),
            Case(input: [2, 6, 5, 5], weight: [4, 6, 1, 1], params: Conv2dParams(padding: 1)),
        ]
        for (i, c) in cases.enumerated() { try check(c, seed: UInt64(i)) }
    }

    func testGeneralKernels() throws {
        let cases = [
            Case(input: [1, 3, 9, 9], weight: [4, 3, 3, 3], params: Conv2dParams(padding: 1)),
            Case(input: [2, 3, 11, 10], weight: [5, 3, 3, 3], params: Conv2dParams(stride: 2, padding: 1),
                 activation: .relu),
            Case(input: [1, 3, 23, 21], weight: [8, 3, 7, 7], params: Conv2dParams(stride: 2, padding: 3)),
            Case(input: [2, 4, 8, 9], weight: [3, 4, 5, 3], params: Conv2dParams(stride: 1, padding: 0)),
            Case(input: [1, 2, 13, 12], weight: [3, 2, 3, 3],
                 params: Conv2dParams(stride: (2, 1), padding: (0, 1, 1, 0)), activation: .sigmoid),
            Case(input: [2, 3, 12, 12], weight: [4, 3, 3, 3], params: Conv2dParams(padding: 2, dilation: 2)),
            Case(input: [1, 2, 15, 14], weight: [3, 2, 3, 2],
                 params: Conv2dParams(stride: (1, 2), padding: (3, 0, 1, 2), dilation: (3, 2))),
            Case(input: [3, 5, 6, 7], weight: [6, 5, 2, 2], params: Conv2dParams(stride: 3, padding: 1)),
            Case(input: [1, 3, 4, 4], weight: [2, 3, 5, 5], params: Conv2dParams(padding: 2), activation: .relu6),
        ]
        for (i, c) in cases.enumerated() { try check(c, seed: 100 + UInt64(i)) }
    }

    /// Planes of ≥ 1024 outputs take the tiled path (several tiles per image).
    func testLargePlanesAreTiled() throws {
        let cases = [
            Case(input: [1, 16, 48, 47], weight: [8, 16, 3, 3], params: Conv2dParams(padding: 1), activation: .relu),
            Case(input: [2, 3, 70, 66], weight: [5, 3, 7, 7], params: Conv2dParams(stride: 2, padding: 3)),
            // Stride-2 stems whose tiles are whole output rows (12 and 16 rows of 48 and 40): the column
            // matrix is built one kernel call per tap, the tile's first row offset into the plane.
            Case(input: [1, 3, 96, 96], weight: [8, 3, 7, 7], params: Conv2dParams(stride: 2, padding: 3), activation: .relu),
            Case(input: [2, 3, 64, 80], weight: [6, 3, 7, 7], params: Conv2dParams(stride: 2, padding: 3)),
            Case(input: [1, 64, 40, 40], weight: [6, 64, 3, 3], params: Conv2dParams(padding: 1), activation: .silu),
            // Small planes whose gathered columns exceed the cache budget: one image per GEMM.
            Case(input: [3, 64, 31, 31], weight: [5, 64, 3, 3], params: Conv2dParams(padding: 1), activation: .relu),
            Case(input: [2, 32, 62, 61], weight: [9, 32, 3, 3], params: Conv2dParams(stride: 2, padding: 1)),
        ]
        for (i, c) in cases.enumerated() { try check(c, seed: 200 + UInt64(i)) }
    }

    func testGrouped() throws {
        let cases = [
            Case(input: [2, 8, 7, 6], weight: [4, 2, 3, 3], params: Conv2dParams(padding: 1, groups: 4)),
            Case(input: [1, 6, 9, 9], weight: [9, 2, 3, 3], params: Conv2dParams(stride: 2, padding: 1, groups: 3)),
            Case(input: [2, 64, 6, 6], weight: [64, 2, 3, 3], params: Conv2dParams(padding: 1, groups: 32),
                 activation: .relu),
            Case(input: [1, 4, 33, 33], weight: [8, 2, 1, 1], params: Conv2dParams(groups: 2)),
            // Depthwise with channel multiplier 2 goes through the grouped GEMM path.
            Case(input: [1, 3, 8, 8], weight: [6, 1, 3, 3], params: Conv2dParams(padding: 1, groups: 3)),
        ]
        for (i, c) in cases.enumerated() { try check(c, seed: 300 + UInt64(i)) }
    }

    func testDepthwise() throws {
        var cases: [Case] = []
        // (9, 70): rows of 32 outputs or more, which the general loop takes four vectors at a time;
        // (14, 14) and (13, 56) ConvNeXt's row widths for the row-blocked kernel (square, stride 1:
        // whole and partial vector pairs, single vectors, a last block of rows that overlaps); (3, 20)
        // fewer than four output rows, which stride-1 filters take to their own loops.
        for (k, s, d) in [(3, 1, 1), (3, 2, 1), (5, 1, 1), (5, 2, 1), (3, 1, 2), (3, 3, 1), (1, 1, 1), (7, 2, 2), (7, 1, 1),
                          (9, 1, 1)] {
            for (h, w) in [(7, 7), (12, 9), (19, 30), (9, 70), (14, 14), (13, 56), (3, 20)] {
                let pad = d * (k - 1) / 2
                if h + 2 * pad < d * (k - 1) + 1 { continue }
                cases.append(Case(input: [2, 5, h, w], weight: [5, 1, k, k],
                                  params: Conv2dParams(stride: s, padding: pad, dilation: d, groups: 5),
                                  activation: [.none, .silu, .relu, .relu6, .sigmoid][(k + s + h) % 5]))
            }
        }
        cases.append(Case(input: [1, 4, 10, 11], weight: [4, 1, 3, 3],
                          params: Conv2dParams(stride: (2, 2), padding: (0, 0, 1, 1), groups: 4), bias: false))
        cases.append(Case(input: [1, 3, 9, 8], weight: [3, 1, 5, 3],
                          params: Conv2dParams(stride: (1, 2), padding: (2, 1, 1, 0), groups: 3)))
        for (i, c) in cases.enumerated() { try check(c, seed: 400 + UInt64(i)) }
    }

    /// Hardswish, hardsigmoid and GELU in every convolution epilogue: 1×1, im2col, grouped, the
    /// depthwise kernels (specialized 3×3 and 5×5 loops and the general one) and Winograd.
    func testHardActivationsAndGELUInEveryEpilogue() throws {
        let cases = [
            Case(input: [2, 8, 9, 7], weight: [12, 8, 1, 1], params: Conv2dParams(), activation: .hardswish),
            Case(input: [1, 3, 13, 12], weight: [5, 3, 3, 3], params: Conv2dParams(stride: 2, padding: 1),
                 activation: .hardsigmoid),
            Case(input: [2, 8, 7, 6], weight: [4, 2, 3, 3], params: Conv2dParams(padding: 1, groups: 4), activation: .gelu),
            Case(input: [2, 6, 12, 9], weight: [6, 1, 3, 3], params: Conv2dParams(padding: 1, groups: 6),
                 activation: .hardswish),
            Case(input: [1, 5, 19, 17], weight: [5, 1, 5, 5], params: Conv2dParams(stride: 2, padding: 2, groups: 5),
                 activation: .hardsigmoid),
            Case(input: [1, 4, 11, 10], weight: [4, 1, 3, 3], params: Conv2dParams(padding: 2, dilation: 2, groups: 4),
                 activation: .gelu),
            Case(input: [2, 16, 14, 13], weight: [18, 16, 3, 3], params: Conv2dParams(padding: 1), activation: .hardswish),
            Case(input: [1, 16, 9, 11], weight: [16, 16, 3, 3], params: Conv2dParams(padding: 1), activation: .gelu),
        ]
        for (i, c) in cases.enumerated() { try check(c, seed: 800 + UInt64(i)) }
    }

    /// Stride-1 3×3 shapes (Winograd candidates) at odd sizes and batch > 1.
    func testStrideOne3x3() throws {
        let cases = [
            Case(input: [1, 8, 7, 7], weight: [16, 8, 3, 3], params: Conv2dParams(padding: 1), activation: .relu),
            Case(input: [3, 12, 14, 14], weight: [10, 12, 3, 3], params: Conv2dParams(padding: 1)),
            Case(input: [2, 5, 13, 9], weight: [7, 5, 3, 3], params: Conv2dParams(padding: 1)),
            Case(input: [1, 4, 10, 9], weight: [3, 4, 3, 3], params: Conv2dParams(padding: 0)),
            Case(input: [1, 6, 35, 34], weight: [5, 6, 3, 3], params: Conv2dParams(padding: 1), activation: .silu),
            Case(input: [2, 3, 8, 11], weight: [4, 3, 3, 3], params: Conv2dParams(stride: (1, 1), padding: (1, 0, 0, 1))),
            // ≥ 16 channels: the Winograd path, small planes (phases split across threads) …
            Case(input: [1, 16, 9, 11], weight: [16, 16, 3, 3], params: Conv2dParams(padding: 1)),
            Case(input: [2, 24, 14, 13], weight: [20, 24, 3, 3], params: Conv2dParams(padding: 1), activation: .relu),
            Case(input: [2, 32, 10, 8], weight: [17, 32, 3, 3], params: Conv2dParams(padding: 0)),
            Case(input: [1, 16, 12, 15], weight: [16, 16, 3, 3],
                 params: Conv2dParams(stride: (1, 1), padding: (1, 0, 0, 1)), activation: .relu6),
            Case(input: [3, 16, 5, 4], weight: [16, 16, 3, 3], params: Conv2dParams(padding: 1), bias: false),
            // … and planes large enough for one block per thread.
            Case(input: [1, 16, 96, 90], weight: [16, 16, 3, 3], params: Conv2dParams(padding: 1), activation: .silu),
            Case(input: [2, 16, 67, 66], weight: [18, 16, 3, 3], params: Conv2dParams(padding: 1), activation: .relu),
        ]
        for (i, c) in cases.enumerated() { try check(c, seed: 500 + UInt64(i)) }
    }

    /// Shapes for the packed-weight multiply's corners: depth past one 256-row block (partial sums
    /// added in C), column counts with a full, an 8-wide or a 16-wide partial last block, output
    /// channels off the 6-row panels, planes split per thread by columns or by rows (over a shared
    /// copy of B), and Winograd with more than 256 input channels.
    func testPackedWeightCorners() throws {
        let cases = [
            // 1×1, K 600: three depth blocks; 7×7 (3 × 16 + 1 columns) and 13×11 (8 × 16 + 15).
            Case(input: [1, 600, 7, 7], weight: [96, 600, 1, 1], params: Conv2dParams(), activation: .relu),
            Case(input: [1, 600, 13, 11], weight: [13, 600, 1, 1], params: Conv2dParams()),
            Case(input: [2, 300, 7, 7], weight: [50, 300, 1, 1], params: Conv2dParams(), bias: false),
            // im2col with K = 40 · 9 = 360 at stride 2, small and large planes.
            Case(input: [1, 40, 15, 15], weight: [31, 40, 3, 3], params: Conv2dParams(stride: 2, padding: 1)),
            Case(input: [1, 40, 71, 69], weight: [7, 40, 3, 3], params: Conv2dParams(stride: 2, padding: 1),
                 activation: .relu),
            // A wide plane split by columns (56 × 56 at batch 1) with O off the panels.
            Case(input: [1, 20, 56, 56], weight: [23, 20, 1, 1], params: Conv2dParams(), activation: .silu),
            // Winograd, C = 264: its products also run in two depth blocks.
            Case(input: [1, 264, 9, 10], weight: [20, 264, 3, 3], params: Conv2dParams(padding: 1), activation: .relu),
        ]
        for (i, c) in cases.enumerated() { try check(c, seed: 700 + UInt64(i)) }
    }

    /// Shapes for the column-panel multiply of small planes (AVX-512 machines, packed weights): output
    /// channels filling one-vector (≤ 16 rows), partial and whole 32-row panels; planes of every width
    /// from 1 to 14 pixels past the last whole 14-pixel block (1×1 … 15×15, 7×7 = 3 · 14 + 7); im2col
    /// columns over several images and in more than one gathered chunk (k · P · images over 2²⁰ floats).
    func testColumnPanelCorners() throws {
        var cases: [Case] = []
        for (i, o) in [1, 8, 16, 17, 33, 40, 64, 69].enumerated() {
            let size = [1, 2, 3, 4, 5, 7, 13, 15][i]
            cases.append(Case(input: [2, 24, size, size], weight: [o, 24, 1, 1], params: Conv2dParams(),
                              activation: i % 2 == 0 ? .relu : .gelu))
        }
        for width in 1...14 {
            cases.append(Case(input: [1, 10, 2, 14 + width], weight: [35, 10, 1, 1], params: Conv2dParams(),
                              bias: width % 3 != 0))
        }
        cases += [
            // 3×3 at stride 2 onto 7×7, 14×14 and 10×10 outputs, three images.
            Case(input: [3, 24, 14, 14], weight: [48, 24, 3, 3], params: Conv2dParams(stride: 2, padding: 1),
                 activation: .relu),
            Case(input: [3, 8, 28, 28], weight: [20, 8, 3, 3], params: Conv2dParams(stride: 2, padding: 1)),
            Case(input: [2, 16, 20, 20], weight: [32, 16, 3, 3], params: Conv2dParams(stride: 2, padding: 1),
                 activation: .silu),
            // k = 2304, P = 81: 186 624 floats of columns per image, so seven images take two chunks.
            Case(input: [7, 256, 9, 9], weight: [20, 256, 3, 3], params: Conv2dParams(padding: 2, dilation: 2)),
            // Winograd's products on the same multiply (filters transformed into its panels): 16, 49 and
            // 100 tiles in one big block, panels of 5, 16, 20 and 40 rows; 2116 tiles in per-thread blocks.
            Case(input: [1, 24, 8, 8], weight: [5, 24, 3, 3], params: Conv2dParams(padding: 1), activation: .relu),
            Case(input: [1, 24, 14, 14], weight: [16, 24, 3, 3], params: Conv2dParams(padding: 1)),
            Case(input: [2, 24, 10, 10], weight: [20, 24, 3, 3], params: Conv2dParams(padding: 1), activation: .silu),
            Case(input: [1, 40, 14, 13], weight: [40, 40, 3, 3], params: Conv2dParams(padding: 1), bias: false),
            Case(input: [1, 24, 92, 92], weight: [40, 24, 3, 3], params: Conv2dParams(padding: 1), activation: .relu),
        ]
        for (i, c) in cases.enumerated() { try check(c, seed: 900 + UInt64(i)) }
    }

    /// Winograd caches transformed filters with the weight buffer: a reshaped view (same buffer,
    /// other O/C split) must not reuse them, and writing the weights in place must drop them.
    func testTransformedFilterCacheFollowsShapeAndWrites() throws {
        var rng = TestRandom(seed: 600)
        let x1 = try rng.tensor([1, 32, 9, 9]), x2 = try rng.tensor([1, 16, 9, 9])
        var w = try rng.tensor([16, 32, 3, 3], -0.3, 0.3)
        let p = Conv2dParams(padding: 1)
        func expected(_ x: Tensor, _ w: Tensor) -> [Double] {
            NaiveConv(input: x.shape, weight: w.shape, params: p).forward(x: x.values, weight: w.values, bias: nil)
        }
        assertClose(try conv2d(x1, weight: w, params: p).values, expected(x1, w), atol: 2e-5, rtol: 2e-5)
        // The other back end on the same weights: each keeps filters in its own layout.
        let other = ConvolutionOptions(packedWeights: !ConvolutionOptions.machineDefault.packedWeights)
        assertClose(try conv2d(x1, weight: w, params: p, options: other).values, expected(x1, w), atol: 2e-5, rtol: 2e-5)
        do {
            let view = try w.reshaped([32, 16, 3, 3])
            XCTAssertTrue(view.sharesStorage(with: w))
            assertClose(try conv2d(x2, weight: view, params: p).values, expected(x2, view), atol: 2e-5, rtol: 2e-5)
        }
        let before = w.withUnsafeBufferPointer { $0.baseAddress }
        w.withUnsafeMutableBufferPointer { buffer in
            for i in buffer.indices { buffer[i] *= -2 }
        }
        XCTAssertEqual(w.withUnsafeBufferPointer { $0.baseAddress }, before, "written in place")
        assertClose(try conv2d(x1, weight: w, params: p).values, expected(x1, w), atol: 4e-5, rtol: 2e-5)
    }

    func testOutputSizeAndSamePadding() throws {
        let p = Conv2dParams(stride: 2, padding: 1)
        XCTAssertEqual(p.outputSize(inputH: 7, inputW: 8, kernelH: 3, kernelW: 3)?.h, 4)
        XCTAssertEqual(p.outputSize(inputH: 7, inputW: 8, kernelH: 3, kernelW: 3)?.w, 4)
        XCTAssertNil(Conv2dParams().outputSize(inputH: 2, inputW: 2, kernelH: 3, kernelW: 3))
        // TF SAME at stride 2 on an even input puts the extra padding bottom/right.
        let same = Conv2dParams.same(inputH: 224, inputW: 224, kernelH: 3, kernelW: 3, stride: (2, 2))
        XCTAssertEqual([same.padTop, same.padLeft, same.padBottom, same.padRight], [0, 0, 1, 1])
        let same5 = Conv2dParams.same(inputH: 15, inputW: 14, kernelH: 5, kernelW: 5, stride: (2, 2))
        XCTAssertEqual([same5.padTop, same5.padLeft, same5.padBottom, same5.padRight], [2, 1, 2, 2])
        XCTAssertEqual(same5.outputSize(inputH: 15, inputW: 14, kernelH: 5, kernelW: 5)?.h, 8)
        XCTAssertEqual(same5.outputSize(inputH: 15, inputW: 14, kernelH: 5, kernelW: 5)?.w, 7)
    }

    func testRejectsMismatchedOperands() throws {
        let x = try Tensor(shape: [1, 4, 5, 5])
        XCTAssertThrowsError(try conv2d(x, weight: try Tensor(shape: [2, 3, 3, 3]))) // channel mismatch
        XCTAssertThrowsError(try conv2d(x, weight: try Tensor(shape: [3, 2, 3, 3]), params: Conv2dParams(groups: 2)))
        XCTAssertThrowsError(try conv2d(x, weight: try Tensor(shape: [2, 4, 7, 7]))) // kernel larger than input
        XCTAssertThrowsError(try conv2d(x, weight: try Tensor(shape: [2, 4, 1, 1]), bias: try Tensor(shape: [3])))
        XCTAssertThrowsError(try conv2d(x, weight: try Tensor(shape: [2, 4, 1, 1]), residual: try Tensor(shape: [1, 2, 5, 4])))
        XCTAssertThrowsError(try conv2d(x, weight: try Tensor(shape: [2, 4, 1, 1]), params: Conv2dParams(stride: 0)))
        XCTAssertThrowsError(try conv2d(try Tensor(shape: [4, 5, 5]), weight: try Tensor(shape: [2, 4, 1, 1])))
        XCTAssertThrowsError(try conv2d(x, weight: try Tensor(shape: [2, 4, 1, 1]), params: Conv2dParams(padding: -1)))
        do {
            _ = try conv2d(x, weight: try Tensor(shape: [2, 3, 3, 3]))
        } catch let error as TensorError {
            XCTAssertTrue(error.description.contains("conv2d"), error.description)
        }
    }
}
