import GraftTensor
import XCTest

/// conv2dBackward against the analytic gradient of the Double reference, and against central
/// finite differences of the loss L = Σ y ⊙ r (r fixed random) on sampled elements.
final class Conv2dBackwardTests: XCTestCase {
    struct Case {
        var input: [Int]
        var weight: [Int]
        var params: Conv2dParams
    }

    static let cases: [Case] = [
        Case(input: [2, 6, 5, 7], weight: [4, 6, 1, 1], params: Conv2dParams()),
        Case(input: [1, 4, 40, 36], weight: [5, 4, 1, 1], params: Conv2dParams()),
        Case(input: [3, 4, 9, 8], weight: [6, 4, 1, 1], params: Conv2dParams(stride: 2)),
        Case(input: [2, 3, 9, 10], weight: [4, 3, 3, 3], params: Conv2dParams(padding: 1)),
        Case(input: [1, 3, 11, 9], weight: [4, 3, 3, 3], params: Conv2dParams(stride: 2, padding: 1)),
        Case(input: [2, 3, 45, 40], weight: [4, 3, 3, 3], params: Conv2dParams(padding: 1)),
        Case(input: [2, 2, 19, 17], weight: [3, 2, 7, 7], params: Conv2dParams(stride: 2, padding: 3)),
        Case(input: [2, 8, 7, 7], weight: [8, 2, 3, 3], params: Conv2dParams(padding: 1, groups: 4)),
        Case(input: [1, 3, 12, 13], weight: [2, 3, 3, 2],
             params: Conv2dParams(stride: (2, 1), padding: (2, 0, 1, 1), dilation: (2, 1))),
        // small planes gathered across images, in two chunks (k · P above half the budget)
        Case(input: [3, 128, 40, 40], weight: [4, 128, 3, 3], params: Conv2dParams(stride: 2, padding: 1)),
        // stride 1: ∂x as a convolution with flipped filters (Winograd once channels ≥ 16)
        Case(input: [2, 16, 9, 10], weight: [24, 16, 3, 3], params: Conv2dParams(padding: 1)),
        Case(input: [1, 3, 12, 11], weight: [4, 3, 3, 3],
             params: Conv2dParams(stride: (1, 1), padding: (2, 1, 0, 2), dilation: (2, 2))),
        Case(input: [2, 3, 8, 9], weight: [5, 3, 3, 2], params: Conv2dParams(stride: (1, 1), padding: (0, 1, 1, 0))),
        // depthwise: stride 1 and 2, 3×3 and 5×5, dilation, asymmetric padding
        Case(input: [2, 5, 9, 11], weight: [5, 1, 3, 3], params: Conv2dParams(padding: 1, groups: 5)),
        Case(input: [2, 4, 12, 21], weight: [4, 1, 3, 3], params: Conv2dParams(stride: 2, padding: 1, groups: 4)),
        Case(input: [1, 3, 14, 13], weight: [3, 1, 5, 5], params: Conv2dParams(stride: 2, padding: 2, groups: 3)),
        Case(input: [2, 3, 10, 19], weight: [3, 1, 5, 5], params: Conv2dParams(padding: 2, groups: 3)),
        Case(input: [1, 2, 11, 12], weight: [2, 1, 3, 3], params: Conv2dParams(padding: 2, dilation: 2, groups: 2)),
        Case(input: [1, 3, 10, 9], weight: [3, 1, 3, 3],
             params: Conv2dParams(stride: (2, 2), padding: (0, 0, 1, 1), groups: 3)),
        Case(input: [1, 2, 9, 9], weight: [2, 1, 3, 3], params: Conv2dParams(stride: 3, padding: 1, groups: 2)),
        // Stride-1 ∂x as a forward convolution of ∂y (row-blocked kernel): ConvNeXt's 7×7 on rows of 40,
        // padding on some sides only, none at all, a 1×1, and ∂x planes of fewer than four rows (scatter).
        Case(input: [2, 3, 9, 40], weight: [3, 1, 7, 7], params: Conv2dParams(padding: 3, groups: 3)),
        Case(input: [1, 3, 8, 13], weight: [3, 1, 3, 3],
             params: Conv2dParams(stride: (1, 1), padding: (0, 2, 1, 0), groups: 3)),
        Case(input: [2, 2, 9, 10], weight: [2, 1, 5, 5], params: Conv2dParams(padding: 0, groups: 2)),
        Case(input: [1, 4, 6, 7], weight: [4, 1, 1, 1], params: Conv2dParams(groups: 4)),
        Case(input: [1, 2, 3, 17], weight: [2, 1, 3, 3], params: Conv2dParams(padding: 1, groups: 2)),
    ]

    func testAgainstReferenceGradients() throws {
        for (index, c) in Self.cases.enumerated() {
            var rng = TestRandom(seed: 900 + UInt64(index))
            let x = try rng.tensor(c.input)
            let w = try rng.tensor(c.weight, -0.5, 0.5)
            let ref = NaiveConv(input: c.input, weight: c.weight, params: c.params)
            let dy = try rng.tensor([ref.n, ref.o, ref.oh, ref.ow])
            let grads = try conv2dBackward(x: x, weight: w, gradOutput: dy, params: c.params)
            let expected = ref.backward(x: x.values, weight: w.values, dy: dy.values)
            let dx = try XCTUnwrap(grads.input)
            XCTAssertEqual(dx.shape, c.input)
            XCTAssertEqual(grads.weight.shape, c.weight)
            assertClose(dx.values, expected.dx, atol: 3e-5, rtol: 3e-5, "dx \(c)")
            assertClose(grads.weight.values, expected.dw, atol: 1e-4, rtol: 3e-5, "dw \(c)")
            assertClose(grads.bias.values, expected.db, atol: 1e-4, rtol: 3e-5, "db \(c)")

            let noInput = try conv2dBackward(x: x, weight: w, gradOutput: dy, params: c.params, inputGradient: false)
            XCTAssertNil(noInput.input)
            XCTAssertEqual(noInput.weight, grads.weight)
            let noBias = try conv2dBackward(x: x, weight: w, gradOutput: dy, params: c.params, biasGradient: false)
            XCTAssertEqual(noBias.input, grads.input)
            XCTAssertEqual(noBias.weight, grads.weight)
            XCTAssertEqual(noBias.bias.values, [Float](repeating: 0, count: c.weight[0]))
        }
    }

    /// ∂x through Winograd (the flipped weights' filters): both filter layouts, channel counts off the
    /// 6-row panels, one-sided padding, and a forward pass first so the forward filters are cached with
    /// the weights as in training.
    func testWinogradInputGradientInBothFilterLayouts() throws {
        let cases = [
            Case(input: [2, 17, 12, 11], weight: [19, 17, 3, 3], params: Conv2dParams(stride: (1, 1), padding: (0, 2, 1, 1))),
            Case(input: [2, 24, 10, 10], weight: [16, 24, 3, 3], params: Conv2dParams(padding: 1)),
        ]
        for (index, c) in cases.enumerated() {
            for packed in [true, false] {
                var options = ConvolutionOptions.machineDefault
                options.packedWeights = packed
                var rng = TestRandom(seed: 700 + UInt64(index))
                let x = try rng.tensor(c.input)
                let w = try rng.tensor(c.weight, -0.5, 0.5)
                let ref = NaiveConv(input: c.input, weight: c.weight, params: c.params)
                let dy = try rng.tensor([ref.n, ref.o, ref.oh, ref.ow])
                _ = try conv2d(x, weight: w, params: c.params, options: options)
                let expected = ref.backward(x: x.values, weight: w.values, dy: dy.values)
                for _ in 0..<2 {  // twice: nothing cached changes the result
                    let grads = try conv2dBackward(x: x, weight: w, gradOutput: dy, params: c.params, options: options)
                    assertClose(try XCTUnwrap(grads.input).values, expected.dx, atol: 3e-5, rtol: 3e-5, "dx \(c) packed \(packed)")
                }
            }
        }
    }

    /// Finite differences check the gradient definition itself (independent of NaiveConv).
    func testFiniteDifferences() throws {
        for (index, c) in Self.cases.enumerated() where index % 2 == 0 {
            var rng = TestRandom(seed: 1900 + UInt64(index))
            var x = try rng.tensor(c.input)
            var w = try rng.tensor(c.weight, -0.5, 0.5)
            let b = try rng.tensor([c.weight[0]])
            let y0 = try conv2d(x, weight: w, bias: b, params: c.params)
            let r = try rng.tensor(y0.shape)
            let grads = try conv2dBackward(x: x, weight: w, gradOutput: r, params: c.params)
            let dx = try XCTUnwrap(grads.input).values

            func loss(_ x: Tensor, _ w: Tensor, _ b: Tensor) throws -> Double {
                let y = try conv2d(x, weight: w, bias: b, params: c.params).values
                return zip(y, r.values).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            }
            let eps: Float = 1e-2
            for _ in 0..<6 {
                let i = rng.int(0..<x.count)
                let saved = x[flat: i]
                x = try Self.setting(x, i, saved + eps)
                let plus = try loss(x, w, b)
                x = try Self.setting(x, i, saved - eps)
                let minus = try loss(x, w, b)
                x = try Self.setting(x, i, saved)
                XCTAssertEqual((plus - minus) / Double(2 * eps), Double(dx[i]), accuracy: 2e-2, "dx[\(i)] \(c)")
            }
            for _ in 0..<6 {
                let i = rng.int(0..<w.count)
                let saved = w[flat: i]
                w = try Self.setting(w, i, saved + eps)
                let plus = try loss(x, w, b)
                w = try Self.setting(w, i, saved - eps)
                let minus = try loss(x, w, b)
                w = try Self.setting(w, i, saved)
                XCTAssertEqual((plus - minus) / Double(2 * eps), Double(grads.weight[flat: i]),
                               accuracy: 2e-2 * max(1, abs(Double(grads.weight[flat: i])) / 10), "dw[\(i)] \(c)")
            }
        }
    }

    /// Winograd's ∂W (the adjoint of its forward tiles) against the im2col + GEMM one, on shapes the
    /// small cases above do not reach: odd planes (half-empty edge tiles), asymmetric and no padding,
    /// and a layer wide enough that its tiles are split into several blocks whose products accumulate.
    func testWinogradWeightGradientMatchesGemm() throws {
        let shapes: [(input: [Int], out: Int, params: Conv2dParams)] = [
            ([3, 17, 10, 12], 20, Conv2dParams(stride: (1, 1), padding: (1, 0, 2, 1))),
            ([1, 16, 18, 19], 32, Conv2dParams()),
            ([2, 24, 16, 16], 16, Conv2dParams(padding: 1)),
            ([5, 256, 15, 15], 256, Conv2dParams(padding: 1)),
        ]
        var gemm = ConvolutionOptions.machineDefault
        gemm.winograd = false
        for (index, s) in shapes.enumerated() {
            var rng = TestRandom(seed: 1700 + UInt64(index))
            let x = try rng.tensor(s.input)
            let w = try rng.tensor([s.out, s.input[1], 3, 3], -0.5, 0.5)
            let y = try conv2d(x, weight: w, params: s.params, options: gemm)
            let dy = try rng.tensor(y.shape)
            let winograd = try conv2dBackward(x: x, weight: w, gradOutput: dy, params: s.params, inputGradient: false)
            let reference = try conv2dBackward(x: x, weight: w, gradOutput: dy, params: s.params,
                                               inputGradient: false, options: gemm)
            // Each ∂W entry sums N·H·W products of magnitude ≤ 1.
            let scale = Double(s.input[0] * s.input[2] * s.input[3]).squareRoot()
            assertClose(winograd.weight.values, reference.weight.values, atol: 2e-5 * scale, rtol: 1e-5,
                        "dw \(s.input) → \(s.out)")
        }
    }

    static func setting(_ t: Tensor, _ i: Int, _ v: Float) throws -> Tensor {
        var values = t.values
        values[i] = v
        return try Tensor(shape: t.shape, values: values)
    }

    func testRejectsWrongGradientShape() throws {
        let x = try Tensor(shape: [1, 2, 5, 5]), w = try Tensor(shape: [3, 2, 3, 3])
        XCTAssertThrowsError(try conv2dBackward(x: x, weight: w, gradOutput: try Tensor(shape: [1, 3, 5, 5])))
        XCTAssertNoThrow(try conv2dBackward(x: x, weight: w, gradOutput: try Tensor(shape: [1, 3, 3, 3])))
    }
}
