import Foundation
import GraftTensor
import XCTest

final class DropoutTests: XCTestCase {
    func testGeneratorIsDeterministic() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let sa = (0..<5).map { _ in a.next() }, sb = (0..<5).map { _ in b.next() }, sc = (0..<5).map { _ in c.next() }
        XCTAssertEqual(sa, sb)
        XCTAssertNotEqual(sa, sc)
        var d = SeededGenerator(seed: 1)
        for _ in 0..<1000 {
            let u = d.nextUnitFloat()
            XCTAssertTrue(u >= 0 && u < 1)
        }
    }

    func testDropoutMaskScaleAndBackward() throws {
        var rng = TestRandom(seed: 100)
        let x = try rng.tensor([8, 1000])
        var g = SeededGenerator(seed: 7)
        let (y, maskOrNil) = try dropout(x, probability: 0.2, training: true, generator: &g)
        let mask = try XCTUnwrap(maskOrNil)
        let scale = Float(1) / (1 - 0.2)
        XCTAssertTrue(mask.values.allSatisfy { $0 == 0 || $0 == scale })
        let kept = mask.values.filter { $0 != 0 }.count
        XCTAssertEqual(Double(kept) / 8000, 0.8, accuracy: 0.03)
        XCTAssertEqual(y.values, zip(x.values, mask.values).map { $0 * $1 })
        // Same seed, same mask.
        var g2 = SeededGenerator(seed: 7)
        XCTAssertEqual(try dropout(x, probability: 0.2, training: true, generator: &g2).mask, mask)
        let dy = try rng.tensor([8, 1000])
        XCTAssertEqual(try dropoutBackward(gradOutput: dy, mask: mask).values, zip(dy.values, mask.values).map { $0 * $1 })
        // Evaluation and p = 0 are the identity; p = 1 drops everything.
        XCTAssertNil(try dropout(x, probability: 0.5, training: false, generator: &g).mask)
        XCTAssertEqual(try dropout(x, probability: 0.5, training: false, generator: &g).output, x)
        XCTAssertEqual(try dropout(x, probability: 0, training: true, generator: &g).output, x)
        XCTAssertTrue(try dropout(x, probability: 1, training: true, generator: &g).output.values.allSatisfy { $0 == 0 })
        XCTAssertEqual(try dropoutBackward(gradOutput: dy, mask: nil), dy)
        XCTAssertThrowsError(try dropout(x, probability: 1.5, training: true, generator: &g))
        XCTAssertThrowsError(try dropout(x, probability: -0.1, training: true, generator: &g))
    }

    func testStochasticDepthDropsWholeSamples() throws {
        var rng = TestRandom(seed: 101)
        let x = try rng.tensor([64, 3, 2, 2])
        var g = SeededGenerator(seed: 9)
        let (y, keepOrNil) = try stochasticDepth(x, probability: 0.25, training: true, generator: &g)
        let keep = try XCTUnwrap(keepOrNil)
        XCTAssertEqual(keep.shape, [64])
        let scale = Float(1) / 0.75
        XCTAssertTrue(keep.values.allSatisfy { $0 == 0 || $0 == scale })
        XCTAssertTrue(keep.values.contains(0) && keep.values.contains(scale))
        for n in 0..<64 {
            for j in 0..<12 { XCTAssertEqual(y[flat: n * 12 + j], x[flat: n * 12 + j] * keep[flat: n]) }
        }
        let dy = try rng.tensor(x.shape)
        let dx = try stochasticDepthBackward(gradOutput: dy, keep: keep)
        XCTAssertEqual(dx.values, (0..<x.count).map { dy[flat: $0] * keep[flat: $0 / 12] })
        XCTAssertEqual(try stochasticDepth(x, probability: 0.25, training: false, generator: &g).output, x)
        XCTAssertEqual(try stochasticDepthBackward(gradOutput: dy, keep: nil), dy)
        XCTAssertThrowsError(try stochasticDepthBackward(gradOutput: dy, keep: try Tensor(shape: [3])))
    }
}

final class SoftmaxLossTests: XCTestCase {
    func testSoftmaxAndLogSoftmax() throws {
        let x = try Tensor(shape: [3, 4], values: [1, 2, 3, 4, -1000, 0, 1000, 1, 0.5, 0.5, 0.5, 0.5])
        let s = try softmax(x), l = try logSoftmax(x)
        for r in 0..<3 {
            let row = (0..<4).map { Double(x[flat: r * 4 + $0]) }
            let m = row.max() ?? 0
            let z = row.map { Foundation.exp($0 - m) }.reduce(0, +)
            for j in 0..<4 {
                XCTAssertEqual(Double(s[flat: r * 4 + j]), Foundation.exp(row[j] - m) / z, accuracy: 1e-7)
                XCTAssertEqual(Double(l[flat: r * 4 + j]), row[j] - m - Foundation.log(z), accuracy: 1e-4 * max(1, abs(row[j])))
            }
        }
        XCTAssertTrue(s.values.allSatisfy { $0.isFinite })
        // Backward: ⟨dy, J·e_k⟩ by finite differences.
        var rng = TestRandom(seed: 110)
        let y0 = try rng.tensor([2, 5]), dy = try rng.tensor([2, 5])
        let dx = try softmaxBackward(gradOutput: dy, output: try softmax(y0))
        for k in 0..<10 {
            var p = y0.values, m = y0.values
            p[k] += 1e-3
            m[k] -= 1e-3
            let sp = try softmax(try Tensor(shape: [2, 5], values: p)).values
            let sm = try softmax(try Tensor(shape: [2, 5], values: m)).values
            let fd = (0..<10).reduce(0.0) { $0 + Double(sp[$1] - sm[$1]) * Double(dy[flat: $1]) } / 2e-3
            XCTAssertEqual(fd, Double(dx[flat: k]), accuracy: 1e-3)
        }
    }

    func testCrossEntropyWithLabelSmoothing() throws {
        var rng = TestRandom(seed: 111)
        let (n, k) = (5, 7)
        let logits = try rng.tensor([n, k], -3, 3)
        let targets = [0, 6, 3, 3, 1]
        for eps in [Float(0), 0.1, 1] {
            let (loss, grad) = try crossEntropy(logits: logits, targets: targets, labelSmoothing: eps)
            var expected = 0.0
            var expectedGrad = [Double](repeating: 0, count: n * k)
            for i in 0..<n {
                let row = (0..<k).map { Double(logits[flat: i * k + $0]) }
                let lse = Foundation.log(row.map(Foundation.exp).reduce(0, +))
                let logp = row.map { $0 - lse }
                expected += (1 - Double(eps)) * -logp[targets[i]] + Double(eps) / Double(k) * logp.map { -$0 }.reduce(0, +)
                for j in 0..<k {
                    let q = (j == targets[i] ? 1 - Double(eps) : 0) + Double(eps) / Double(k)
                    expectedGrad[i * k + j] = (Foundation.exp(logp[j]) - q) / Double(n)
                }
            }
            XCTAssertEqual(Double(loss), expected / Double(n), accuracy: 1e-6)
            assertClose(grad.values, expectedGrad, atol: 1e-7, rtol: 1e-5)
            // The gradient is the loss's derivative.
            for _ in 0..<5 {
                let idx = rng.int(0..<(n * k))
                var p = logits.values, m = logits.values
                p[idx] += 1e-2
                m[idx] -= 1e-2
                let lp = try crossEntropy(logits: try Tensor(shape: [n, k], values: p), targets: targets, labelSmoothing: eps).loss
                let lm = try crossEntropy(logits: try Tensor(shape: [n, k], values: m), targets: targets, labelSmoothing: eps).loss
                XCTAssertEqual(Double(lp - lm) / 2e-2, Double(grad[flat: idx]), accuracy: 2e-4)
            }
        }
        XCTAssertThrowsError(try crossEntropy(logits: logits, targets: [0, 1, 2, 3, 7])) { error in
            XCTAssertEqual(error as? TensorError, .labelOutOfRange(op: "crossEntropy", sample: 4, label: 7, classes: 7))
        }
        XCTAssertThrowsError(try crossEntropy(logits: logits, targets: [0, 1, -1, 3, 2]))
        XCTAssertThrowsError(try crossEntropy(logits: logits, targets: [0]))
        XCTAssertThrowsError(try crossEntropy(logits: logits, targets: targets, labelSmoothing: 2))
    }
}
