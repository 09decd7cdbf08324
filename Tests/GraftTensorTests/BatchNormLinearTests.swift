import Foundation
import GraftTensor
import XCTest

private func channelIndices(n: Int, c: Int, plane: Int, channel: Int) -> [Int] {
    var result: [Int] = []
    for i in 0..<n {
        let start = (i * c + channel) * plane
        result.append(contentsOf: start..<(start + plane))
    }
    return result
}

private func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }

final class BatchNormTests: XCTestCase {
    func testInferenceAffineAndScaleShift() throws {
        var rng = TestRandom(seed: 31)
        let x = try rng.tensor([2, 3, 4, 5])
        let gamma = try rng.tensor([3]), beta = try rng.tensor([3])
        let mean = try rng.tensor([3]), variance = try rng.tensor([3], 0.1, 2)
        let (scale, shift) = try batchNormScaleShift(gamma: gamma, beta: beta, runningMean: mean, runningVar: variance, eps: 1e-5)
        for kind in [Activation.none, .relu, .silu, .hardswish, .hardsigmoid, .gelu] {
            let y = try batchNormInference(x, scale: scale, shift: shift, activation: kind)
            let expected = x.values.enumerated().map { i, v -> Double in
                let c = (i / 20) % 3
                let norm = (Double(v) - Double(mean[flat: c])) / (Double(variance[flat: c]) + 1e-5).squareRoot()
                return naiveActivation(norm * Double(gamma[flat: c]) + Double(beta[flat: c]), kind)
            }
            assertClose(y.values, expected, atol: 1e-6, rtol: 1e-5, "\(kind)")
        }
        // (N, C) input (BatchNorm1d).
        let flat = try rng.tensor([4, 3])
        let y1 = try batchNormInference(flat, scale: scale, shift: shift)
        XCTAssertEqual(y1.values, flat.values.enumerated().map { $0.element * scale[flat: $0.offset % 3] + shift[flat: $0.offset % 3] })
        XCTAssertThrowsError(try batchNormInference(x, scale: try Tensor(shape: [4]), shift: shift))
    }

    func testTrainingStatisticsAndOutput() throws {
        var rng = TestRandom(seed: 32)
        let (n, c, plane) = (3, 4, 7 * 5)
        let x = try rng.tensor([n, c, 7, 5], -2, 3)
        let gamma = try rng.tensor([c]), beta = try rng.tensor([c])
        let (y, stats) = try batchNormTraining(x, gamma: gamma, beta: beta, eps: 1e-3)
        XCTAssertEqual(stats.count, n * plane)
        var expected = [Double](repeating: 0, count: x.count)
        for ch in 0..<c {
            let idx = channelIndices(n: n, c: c, plane: plane, channel: ch)
            let vals: [Double] = idx.map { Double(x[flat: $0]) }
            let mu = mean(vals)
            let v = mean(vals.map { ($0 - mu) * ($0 - mu) })
            XCTAssertEqual(Double(stats.mean[flat: ch]), mu, accuracy: 1e-6)
            XCTAssertEqual(Double(stats.variance[flat: ch]), v, accuracy: 1e-5)
            XCTAssertEqual(Double(stats.unbiasedVariance[flat: ch]), v * Double(vals.count) / Double(vals.count - 1),
                           accuracy: 1e-5)
            XCTAssertEqual(Double(stats.invStd[flat: ch]), 1 / (v + 1e-3).squareRoot(), accuracy: 1e-5)
            let inv = 1 / (v + 1e-3).squareRoot()
            let g = Double(gamma[flat: ch]), b = Double(beta[flat: ch])
            for i in idx { expected[i] = (Double(x[flat: i]) - mu) * inv * g + b }
        }
        assertClose(y.values, expected, atol: 2e-6, rtol: 1e-5)
    }

    func testBackwardAgainstAnalyticAndFiniteDifferences() throws {
        var rng = TestRandom(seed: 33)
        let shape = [4, 3, 3, 5]
        let x = try rng.tensor(shape, -1, 2)
        let gamma = try rng.tensor([3], 0.5, 1.5), beta = try rng.tensor([3])
        let r = try rng.tensor(shape)  // loss = Σ y ⊙ r
        let (_, stats) = try batchNormTraining(x, gamma: gamma, beta: beta, eps: 1e-5)
        let grads = try batchNormBackward(x: x, gradOutput: r, gamma: gamma, statistics: stats)

        // Analytic reference in Double.
        let plane = 15, c = 3, n = 4, m = Double(n * plane)
        var dx = [Double](repeating: 0, count: x.count)
        for ch in 0..<c {
            let idx = channelIndices(n: n, c: c, plane: plane, channel: ch)
            let vals: [Double] = idx.map { Double(x[flat: $0]) }
            let mu = mean(vals)
            let v = mean(vals.map { ($0 - mu) * ($0 - mu) })
            let inv = 1 / (v + 1e-5).squareRoot()
            let xhat: [Double] = vals.map { ($0 - mu) * inv }
            let dyv: [Double] = idx.map { Double(r[flat: $0]) }
            let dbeta = dyv.reduce(0, +)
            var dgamma = 0.0
            for k in 0..<dyv.count { dgamma += dyv[k] * xhat[k] }
            XCTAssertEqual(Double(grads.beta[flat: ch]), dbeta, accuracy: 1e-4)
            XCTAssertEqual(Double(grads.gamma[flat: ch]), dgamma, accuracy: 1e-4)
            let factor = Double(gamma[flat: ch]) * inv / m
            for (k, i) in idx.enumerated() {
                dx[i] = factor * (m * dyv[k] - dbeta - xhat[k] * dgamma)
            }
        }
        assertClose(grads.input.values, dx, atol: 2e-5, rtol: 1e-4)

        // Finite differences of the float forward on sampled inputs.
        func loss(_ x: Tensor) throws -> Double {
            let y = try batchNormTraining(x, gamma: gamma, beta: beta, eps: 1e-5).output.values
            return zip(y, r.values).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        for _ in 0..<8 {
            let i = rng.int(0..<x.count)
            var plus = x.values, minus = x.values
            plus[i] += 1e-2
            minus[i] -= 1e-2
            let fd = (try loss(try Tensor(shape: shape, values: plus)) - loss(try Tensor(shape: shape, values: minus))) / 2e-2
            XCTAssertEqual(fd, Double(grads.input[flat: i]), accuracy: 5e-3, "dx[\(i)]")
        }
    }

    /// conv2d with the folded weights equals batchNormInference(conv2d(x)) with the original ones.
    func testFoldIntoConvolution() throws {
        var rng = TestRandom(seed: 34)
        let x = try rng.tensor([2, 3, 6, 6])
        let w = try rng.tensor([4, 3, 3, 3], -0.5, 0.5), b = try rng.tensor([4])
        let gamma = try rng.tensor([4]), beta = try rng.tensor([4])
        let mean = try rng.tensor([4]), variance = try rng.tensor([4], 0.2, 3)
        let p = Conv2dParams(padding: 1)
        for bias in [b, nil] as [Tensor?] {
            let folded = try foldBatchNorm(convWeight: w, convBias: bias, gamma: gamma, beta: beta,
                                           runningMean: mean, runningVar: variance, eps: 1e-3)
            let (scale, shift) = try batchNormScaleShift(gamma: gamma, beta: beta, runningMean: mean,
                                                         runningVar: variance, eps: 1e-3)
            let reference = try batchNormInference(try conv2d(x, weight: w, bias: bias, params: p), scale: scale, shift: shift)
            let fused = try conv2d(x, weight: folded.weight, bias: folded.bias, params: p)
            assertClose(fused.values, reference.values, atol: 2e-5, rtol: 1e-5)
        }
        XCTAssertThrowsError(try foldBatchNorm(convWeight: w, convBias: nil, gamma: try Tensor(shape: [3]), beta: beta,
                                               runningMean: mean, runningVar: variance, eps: 1e-5))
    }
}

final class LinearTests: XCTestCase {
    func testForwardAndBackward() throws {
        var rng = TestRandom(seed: 41)
        for (n, inF, outF) in [(1, 7, 5), (3, 16, 9), (8, 300, 40), (1, 2048, 1000), (5, 1, 3)] {
            let x = try rng.tensor([n, inF]), w = try rng.tensor([outF, inF], -0.2, 0.2), b = try rng.tensor([outF])
            var expected = [Double](repeating: 0, count: n * outF)
            for i in 0..<n {
                for o in 0..<outF {
                    var s = Double(b[flat: o])
                    for k in 0..<inF { s += Double(x[flat: i * inF + k]) * Double(w[flat: o * inF + k]) }
                    expected[i * outF + o] = s
                }
            }
            for kind in [Activation.none, .relu, .hardswish, .gelu] {
                let y = try linear(x, weight: w, bias: b, activation: kind)
                XCTAssertEqual(y.shape, [n, outF])
                assertClose(y.values, expected.map { naiveActivation($0, kind) }, atol: 1e-5, rtol: 1e-5)
            }
            let noBias = try linear(x, weight: w)
            assertClose(noBias.values, zip(expected, (0..<n * outF)).map { $0 - Double(b[flat: $1 % outF]) },
                        atol: 1e-5, rtol: 1e-5)

            let dy = try rng.tensor([n, outF])
            let g = try linearBackward(x: x, weight: w, gradOutput: dy)
            var dx = [Double](repeating: 0, count: n * inF), dw = [Double](repeating: 0, count: outF * inF)
            var db = [Double](repeating: 0, count: outF)
            for i in 0..<n {
                for o in 0..<outF {
                    let gv = Double(dy[flat: i * outF + o])
                    db[o] += gv
                    for k in 0..<inF {
                        dx[i * inF + k] += gv * Double(w[flat: o * inF + k])
                        dw[o * inF + k] += gv * Double(x[flat: i * inF + k])
                    }
                }
            }
            assertClose(try XCTUnwrap(g.input).values, dx, atol: 1e-5, rtol: 1e-5)
            assertClose(g.weight.values, dw, atol: 1e-5, rtol: 1e-5)
            assertClose(g.bias.values, db, atol: 1e-5, rtol: 1e-5)
            XCTAssertNil(try linearBackward(x: x, weight: w, gradOutput: dy, inputGradient: false).input)
        }
        XCTAssertThrowsError(try linear(try Tensor(shape: [2, 3]), weight: try Tensor(shape: [4, 5])))
        XCTAssertThrowsError(try linear(try Tensor(shape: [2, 3]), weight: try Tensor(shape: [4, 3]), bias: try Tensor(shape: [3])))
        XCTAssertThrowsError(try linearBackward(x: try Tensor(shape: [2, 3]), weight: try Tensor(shape: [4, 3]),
                                                gradOutput: try Tensor(shape: [2, 3])))
    }
}
