import Foundation
import GraftTensor
import XCTest

/// Algorithm settings are per call: callers using different ones on the same weights at the same
/// time each get their own algorithm and their own cached filter layout.
final class ConvolutionOptionsTests: XCTestCase {
    /// Every combination of the forward switches (OpenBLAS's own threads left out: its thread
    /// count is process-wide, so that policy is documented as one caller at a time).
    static let variants: [ConvolutionOptions] = [true, false].flatMap { winograd in
        [true, false].map { packed in ConvolutionOptions(winograd: winograd, packedWeights: packed) }
    }

    /// The shared inputs, and the callers' results (stored under the lock).
    final class Run: @unchecked Sendable {
        let x: Tensor, weights: [Tensor], params: [Conv2dParams], expected: [[Double]]
        var outputs: [[[Float]]]
        var errors: [String] = []
        let lock = NSLock()

        init(x: Tensor, weights: [Tensor], params: [Conv2dParams], callers: Int) {
            self.x = x
            self.weights = weights
            self.params = params
            expected = zip(weights, params).map { w, p in
                NaiveConv(input: x.shape, weight: w.shape, params: p).forward(x: x.values, weight: w.values, bias: nil)
            }
            outputs = Array(repeating: [], count: callers)
        }
    }

    func testConcurrentCallersWithDifferentOptionsOnSharedWeights() throws {
        var rng = TestRandom(seed: 900)
        let x = try rng.tensor([2, 32, 12, 12])
        // A Winograd-eligible 3×3 (two cached layouts, or im2col + packed / OpenBLAS) and a 1×1.
        let weights = [try rng.tensor([24, 32, 3, 3], -0.3, 0.3), try rng.tensor([40, 32, 1, 1], -0.3, 0.3)]
        let callers = 16
        let run = Run(x: x, weights: weights, params: [Conv2dParams(padding: 1), Conv2dParams()], callers: callers)
        // The weights are fresh, so the callers also race to make the cached filters.
        DispatchQueue.concurrentPerform(iterations: callers) { i in
            let options = Self.variants[i % Self.variants.count]
            do {
                let ys = try zip(run.weights, run.params).map { w, p in
                    try conv2d(run.x, weight: w, params: p, options: options).values
                }
                run.lock.withLock { run.outputs[i] = ys }
            } catch {
                run.lock.withLock { run.errors.append("caller \(i): \(error)") }
            }
        }
        XCTAssertEqual(run.errors, [])
        for (i, ys) in run.outputs.enumerated() {
            XCTAssertEqual(ys.count, weights.count, "caller \(i)")
            for (y, expected) in zip(ys, run.expected) {
                assertClose(y, expected, atol: 2e-5, rtol: 2e-5, "caller \(i), \(Self.variants[i % Self.variants.count])")
            }
        }
    }

    /// `machineDefault` is what the parameters default to, and the init's nil means the same.
    func testDefaults() {
        let d = ConvolutionOptions.machineDefault
        XCTAssertEqual(ConvolutionOptions(), d)
        XCTAssertTrue(d.winograd)
        XCTAssertTrue(d.transposedInputGradient)
        XCTAssertEqual(d.gemmThreads, .split)
        XCTAssertEqual(d.winogradBlocks, ConvolutionOptions.WinogradBlocks())
        // Inference keeps the small tile; a training step takes the large one, and only the tile changes.
        XCTAssertEqual(d.winogradTile, .twoByTwo)
        XCTAssertEqual(d.training.winogradTile, .fourByFour)
        var training = d
        training.winogradTile = .fourByFour
        XCTAssertEqual(d.training, training)
        XCTAssertEqual(ConvolutionOptions(packedWeights: !d.packedWeights).packedWeights, !d.packedWeights)
    }

    /// Winograd's block sizes change only how tiles are grouped, never the result.
    func testWinogradBlockingAgrees() throws {
        var rng = TestRandom(seed: 901)
        let x = try rng.tensor([1, 16, 40, 36]), w = try rng.tensor([16, 16, 3, 3], -0.3, 0.3)
        let p = Conv2dParams(padding: 1)
        let reference = try conv2d(x, weight: w, params: p)
        // Small blocks: many per-thread blocks; a huge minimum: the split-phases path.
        for blocks in [ConvolutionOptions.WinogradBlocks(blockFloats: 32 * 1024, minimumCacheBlock: 16),
                       ConvolutionOptions.WinogradBlocks(blockFloats: 64 * 1024, minimumCacheBlock: 1 << 20, bigBlockFactor: 1)] {
            let y = try conv2d(x, weight: w, params: p, options: ConvolutionOptions(winogradBlocks: blocks))
            assertClose(y.values, reference.values, atol: 1e-5, rtol: 1e-5, "\(blocks)")
        }
    }
}
