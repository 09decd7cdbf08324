import GraftTensor
import XCTest

/// Winograd F(4×4, 3×3) (`ConvolutionOptions.winogradTile = .fourByFour`, a training step's tile) against
/// the Double reference: forward with every epilogue, input and weight gradients, on planes whose sides
/// are and are not multiples of 4 (partial tiles at the right and bottom), one-sided and no padding,
/// and enough tiles for both of the forward pass's blockings.
final class Winograd4Tests: XCTestCase {
    static let large = ConvolutionOptions(winogradTile: .fourByFour)

    static let cases: [(input: [Int], out: Int, params: Conv2dParams)] = [
        ([2, 16, 14, 14], 24, Conv2dParams(padding: 1)),
        ([3, 17, 7, 7], 19, Conv2dParams(padding: 1)),
        ([1, 16, 13, 22], 16, Conv2dParams(stride: (1, 1), padding: (0, 2, 1, 1))),
        ([2, 20, 18, 17], 16, Conv2dParams()),
        ([1, 16, 66, 70], 16, Conv2dParams(padding: 1)),  // rows of several vectors and a tail
        ([4, 64, 28, 28], 64, Conv2dParams(padding: 1)),  // per-thread blocks
    ]

    func testForwardWithEveryEpilogue() throws {
        for (index, s) in Self.cases.enumerated() {
            var rng = TestRandom(seed: 4100 + UInt64(index))
            let x = try rng.tensor(s.input)
            let w = try rng.tensor([s.out, s.input[1], 3, 3], -0.5, 0.5)
            let bias = try rng.tensor([s.out])
            let ref = NaiveConv(input: s.input, weight: w.shape, params: s.params)
            let plain = ref.forward(x: x.values, weight: w.values, bias: bias.values)
            let residual = try rng.tensor([ref.n, ref.o, ref.oh, ref.ow])
            let y = try conv2d(x, weight: w, bias: bias, params: s.params, options: Self.large)
            assertClose(y.values, plain, atol: 1e-4, rtol: 1e-4, "\(s)")
            let fused = try conv2d(x, weight: w, bias: bias, params: s.params, activation: .relu, residual: residual,
                                   options: Self.large)
            assertClose(fused.values, zip(plain, residual.values).map { max(0, $0 + Double($1)) },
                        atol: 1e-4, rtol: 1e-4, "relu + residual \(s)")
            // Activations the F(4×4) output kernel lacks run on F(2×2).
            let silu = try conv2d(x, weight: w, bias: bias, params: s.params, activation: .silu, options: Self.large)
            assertClose(silu.values, plain.map { $0 / (1 + exp(-$0)) }, atol: 1e-4, rtol: 1e-4, "silu \(s)")
        }
    }

    func testGradients() throws {
        for (index, s) in Self.cases.enumerated() {
            for packed in [true, false] {
                var options = Self.large
                options.packedWeights = packed
                var rng = TestRandom(seed: 4200 + UInt64(index))
                let x = try rng.tensor(s.input)
                let w = try rng.tensor([s.out, s.input[1], 3, 3], -0.5, 0.5)
                let ref = NaiveConv(input: s.input, weight: w.shape, params: s.params)
                let dy = try rng.tensor([ref.n, ref.o, ref.oh, ref.ow])
                let expected = ref.backward(x: x.values, weight: w.values, dy: dy.values)
                let grads = try conv2dBackward(x: x, weight: w, gradOutput: dy, params: s.params, options: options)
                assertClose(try XCTUnwrap(grads.input).values, expected.dx, atol: 1e-4, rtol: 1e-4, "dx \(s) packed \(packed)")
                // Each ∂W entry sums N·H·W products of magnitude ≤ 1.
                let scale = Double(s.input[0] * s.input[2] * s.input[3]).squareRoot()
                assertClose(grads.weight.values, expected.dw, atol: 1e-4 * scale, rtol: 1e-4, "dw \(s) packed \(packed)")
            }
        }
    }

    /// Blocks that end inside a tile row and an odd number of tile rows: the two-rows-per-vector input
    /// transform of narrow planes pairs whole rows only, the rest take one row at a time.
    func testSmallBlocksAndOddTileRows() throws {
        var options = Self.large
        // 16 (C + O) floats per tile: blocks of 16 tiles, so 27 tiles split at 13 (inside the fifth row).
        options.winogradBlocks = ConvolutionOptions.WinogradBlocks(blockFloats: 16 * 32 * 8, bigBlockFactor: 1)
        for (index, input) in [[3, 16, 10, 9], [1, 16, 9, 30]].enumerated() {
            var rng = TestRandom(seed: 4400 + UInt64(index))
            let x = try rng.tensor(input)
            let w = try rng.tensor([16, 16, 3, 3], -0.5, 0.5)
            let params = Conv2dParams(padding: 1)
            let expected = NaiveConv(input: input, weight: w.shape, params: params).forward(x: x.values, weight: w.values, bias: nil)
            assertClose(try conv2d(x, weight: w, params: params, options: options).values, expected,
                        atol: 1e-4, rtol: 1e-4, "\(input)")
        }
    }

    /// The large tile's rounding, measured: within a few times F(2×2)'s on a deep layer.
    func testRoundingStaysNearTheSmallTile() throws {
        var rng = TestRandom(seed: 4300)
        let x = try rng.tensor([1, 256, 16, 16])
        let w = try rng.tensor([32, 256, 3, 3], -0.05, 0.05)
        let params = Conv2dParams(padding: 1)
        let exact = NaiveConv(input: x.shape, weight: w.shape, params: params).forward(x: x.values, weight: w.values, bias: nil)
        func error(_ options: ConvolutionOptions) throws -> Double {
            let y = try conv2d(x, weight: w, params: params, options: options).values
            return zip(y, exact).map { abs(Double($0) - $1) }.reduce(0, +) / Double(y.count)
        }
        let small = try error(ConvolutionOptions()), large = try error(Self.large)
        XCTAssertGreaterThan(large, 0)
        XCTAssertLessThan(large, 12 * small, "mean |error|: F(4×4) \(large), F(2×2) \(small)")
    }
}
