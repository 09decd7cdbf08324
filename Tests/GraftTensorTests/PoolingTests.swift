import GraftTensor
import XCTest

final class MaxPoolTests: XCTestCase {
    /// Output sizes torch 2.x reports for (H, k, s, pad, dilation, ceilMode), ceil-mode edge cases
    /// included (the last window must start inside the input or its left padding).
    func testOutputSizesMatchTorch() {
        let cases: [((Int, Int, Int, Int, Int, Bool), Int)] = [
            ((5, 2, 2, 0, 1, true), 3), ((5, 2, 2, 0, 1, false), 2), ((6, 3, 2, 1, 1, true), 4),
            ((6, 3, 2, 1, 1, false), 3), ((7, 3, 2, 1, 1, true), 4), ((4, 3, 3, 1, 1, true), 2),
            ((1, 1, 2, 0, 1, true), 1), ((8, 3, 3, 0, 1, true), 3), ((9, 2, 2, 1, 1, true), 5),
            ((10, 3, 2, 1, 2, true), 5), ((112, 3, 2, 1, 1, false), 56), ((5, 3, 3, 1, 1, true), 2),
            ((2, 2, 2, 1, 1, true), 2),
        ]
        for ((h, k, s, p, d, ceil), expected) in cases {
            let params = Pool2dParams(kernel: k, stride: s, padding: p, dilation: d, ceilMode: ceil)
            XCTAssertEqual(params.outputSize(inputH: h, inputW: h)?.h, expected, "\(h) \(k) \(s) \(p) \(d) \(ceil)")
        }
        XCTAssertNil(Pool2dParams(kernel: 2, padding: 2).outputSize(inputH: 8, inputW: 8))  // pad > k/2
        XCTAssertNil(Pool2dParams(kernel: 5).outputSize(inputH: 3, inputW: 3))
    }

    /// torch's CPU max pool written plainly: first maximum in window order wins, NaN wins.
    static func naive(_ x: Tensor, _ p: Pool2dParams) throws -> (values: [Float], indices: [Int32]) {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let out = try XCTUnwrap(p.outputSize(inputH: h, inputW: w))
        var values: [Float] = [], indices: [Int32] = []
        for plane in 0..<(n * c) {
            for oh in 0..<out.h {
                for ow in 0..<out.w {
                    var best = -Float.infinity, index = -1
                    for i in 0..<p.kernelH {
                        let ih = oh * p.strideH - p.padH + i * p.dilationH
                        guard ih >= 0 && ih < h else { continue }
                        for j in 0..<p.kernelW {
                            let iw = ow * p.strideW - p.padW + j * p.dilationW
                            guard iw >= 0 && iw < w else { continue }
                            let v = x[flat: plane * h * w + ih * w + iw]
                            if index < 0 || v > best || v.isNaN {
                                best = v
                                index = ih * w + iw
                            }
                        }
                    }
                    values.append(best)
                    indices.append(Int32(index))
                }
            }
        }
        return (values, indices)
    }

    static let cases: [([Int], Pool2dParams)] = [
        ([1, 2, 112, 112], Pool2dParams(kernel: 3, stride: 2, padding: 1)),  // ResNet stem
        ([2, 3, 14, 14], Pool2dParams(kernel: 2, stride: 2)),  // VGG
        ([1, 2, 13, 11], Pool2dParams(kernel: 2, stride: 2)),
        ([2, 2, 9, 10], Pool2dParams(kernel: 3, stride: 2, padding: 1, ceilMode: true)),
        ([1, 3, 5, 5], Pool2dParams(kernel: 3, stride: 3, padding: 1, ceilMode: true)),
        ([1, 1, 9, 9], Pool2dParams(kernel: 2, stride: 2, padding: 1, ceilMode: true)),
        ([1, 2, 10, 12], Pool2dParams(kernel: 3, stride: 2, padding: 1, dilation: 2, ceilMode: true)),
        ([2, 1, 7, 8], Pool2dParams(kernel: (2, 3), stride: (1, 2), padding: (1, 1))),
        ([1, 2, 6, 7], Pool2dParams(kernel: 3, stride: 1, padding: 1)),
        ([1, 2, 5, 37], Pool2dParams(kernel: 3, stride: 1, padding: 1)),  // two whole vectors and a tail
        ([1, 1, 6, 66], Pool2dParams(kernel: 4, stride: 2, padding: 2)),
        ([1, 1, 20, 19], Pool2dParams(kernel: (3, 5), stride: (3, 4), padding: (1, 2), ceilMode: true)),
    ]

    func testForwardAndIndicesMatchReference() throws {
        for (i, (shape, p)) in Self.cases.enumerated() {
            var rng = TestRandom(seed: 50 + UInt64(i))
            // Coarse values make ties common, so the first-maximum rule is exercised.
            let x = try Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(rng.int(-4..<5)) })
            let expected = try Self.naive(x, p)
            let result = try maxPool2dWithIndices(x, p)
            XCTAssertEqual(result.output.values, expected.values, "\(shape) \(p)")
            XCTAssertEqual(result.indices, expected.indices, "\(shape) \(p)")
            XCTAssertEqual(try maxPool2d(x, p).values, expected.values, "fast path \(shape) \(p)")
        }
    }

    func testNaNWinsAndNegativeValuesBeatPadding() throws {
        let x = try Tensor(shape: [1, 1, 3, 3], values: [-5, -6, -7, -8, .nan, -1, -2, -3, -4])
        let p = Pool2dParams(kernel: 2, stride: 1, padding: 1)
        let r = try maxPool2dWithIndices(x, p)
        let fast = try maxPool2d(x, p)
        XCTAssertEqual(r.output[flat: 0], -5)  // window of one real element plus −∞ padding
        // Output (1, 1) covers input rows 0–1, columns 0–1, where the NaN sits at flat index 4.
        XCTAssertTrue(r.output[flat: 5].isNaN && fast[flat: 5].isNaN)
        XCTAssertEqual(r.output.values.map { $0.isNaN }, fast.values.map { $0.isNaN })
        XCTAssertEqual(r.indices[5], 4)
    }

    func testBackwardRoutesGradientToArgmax() throws {
        var rng = TestRandom(seed: 60)
        let shape = [2, 2, 9, 10]
        let p = Pool2dParams(kernel: 3, stride: 2, padding: 1, ceilMode: true)
        let x = try rng.tensor(shape)
        let r = try maxPool2dWithIndices(x, p)
        let dy = try rng.tensor(r.output.shape)
        let dx = try maxPool2dBackward(gradOutput: dy, indices: r.indices, inputShape: shape)
        var expected = [Double](repeating: 0, count: x.count)
        let planeIn = 90, planeOut = r.output.shape[2] * r.output.shape[3]
        for (j, index) in r.indices.enumerated() {
            expected[(j / planeOut) * planeIn + Int(index)] += Double(dy[flat: j])
        }
        assertClose(dx.values, expected, atol: 1e-6, rtol: 0)
        // Finite differences (distinct random values: the argmax is stable under a small nudge).
        let ones = try Tensor(shape: r.output.shape, repeating: 1)
        let unit = try maxPool2dBackward(gradOutput: ones, indices: r.indices, inputShape: shape)
        for _ in 0..<6 {
            let i = rng.int(0..<x.count)
            var plus = x.values, minus = x.values
            plus[i] += 1e-3
            minus[i] -= 1e-3
            let fp = try maxPool2d(try Tensor(shape: shape, values: plus), p).values.reduce(0, +)
            let fm = try maxPool2d(try Tensor(shape: shape, values: minus), p).values.reduce(0, +)
            XCTAssertEqual(Double(fp - fm) / 2e-3, Double(unit[flat: i]), accuracy: 1e-2)
        }
        XCTAssertThrowsError(try maxPool2dBackward(gradOutput: dy, indices: [Int32](repeating: 999, count: dy.count),
                                                   inputShape: shape))
        XCTAssertThrowsError(try maxPool2dBackward(gradOutput: dy, indices: [1, 2], inputShape: shape))
    }

    func testRejectsInvalidGeometry() {
        let x = try? Tensor(shape: [1, 1, 4, 4])
        XCTAssertThrowsError(try maxPool2d(XCTUnwrap(x), Pool2dParams(kernel: 2, padding: 2)))
        XCTAssertThrowsError(try maxPool2d(XCTUnwrap(x), Pool2dParams(kernel: 5)))
        XCTAssertThrowsError(try maxPool2d(XCTUnwrap(x), Pool2dParams(kernel: 2, stride: 0)))
        XCTAssertThrowsError(try maxPool2d(try Tensor(shape: [4, 4]), Pool2dParams(kernel: 2)))
    }
}

final class AvgPoolTests: XCTestCase {
    static func naiveAvg(_ x: Tensor, _ p: Pool2dParams, includePad: Bool) throws -> [Double] {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let out = try XCTUnwrap(p.outputSize(inputH: h, inputW: w))
        var result: [Double] = []
        for plane in 0..<(n * c) {
            for oh in 0..<out.h {
                for ow in 0..<out.w {
                    let hs = oh * p.strideH - p.padH, ws = ow * p.strideW - p.padW
                    let he = min(hs + p.kernelH, h + p.padH), we = min(ws + p.kernelW, w + p.padW)
                    var total = 0.0, real = 0
                    for ih in max(hs, 0)..<max(min(he, h), 0) {
                        for iw in max(ws, 0)..<max(min(we, w), 0) {
                            total += Double(x[flat: plane * h * w + ih * w + iw])
                            real += 1
                        }
                    }
                    let divisor = includePad ? (he - hs) * (we - ws) : real
                    result.append(divisor > 0 ? total / Double(divisor) : 0)
                }
            }
        }
        return result
    }

    func testForwardAndBackward() throws {
        let cases: [([Int], Pool2dParams)] = [
            ([2, 3, 8, 8], Pool2dParams(kernel: 2)),
            ([1, 2, 7, 9], Pool2dParams(kernel: 3, stride: 2, padding: 1)),
            ([1, 2, 7, 9], Pool2dParams(kernel: 3, stride: 2, padding: 1, ceilMode: true)),
            ([1, 1, 5, 6], Pool2dParams(kernel: (3, 2), stride: (2, 3), padding: (1, 1), ceilMode: true)),
        ]
        for (i, (shape, p)) in cases.enumerated() {
            var rng = TestRandom(seed: 70 + UInt64(i))
            let x = try rng.tensor(shape)
            for include in [true, false] {
                let y = try avgPool2d(x, p, countIncludePad: include)
                assertClose(y.values, try Self.naiveAvg(x, p, includePad: include), atol: 1e-6, rtol: 1e-6, "\(shape) \(p)")
                // Backward by finite differences of the (linear) forward.
                let dy = try rng.tensor(y.shape)
                let dx = try avgPool2dBackward(gradOutput: dy, inputShape: shape, p, countIncludePad: include)
                for _ in 0..<5 {
                    let k = rng.int(0..<x.count)
                    var plus = x.values
                    plus[k] += 1
                    let yp = try avgPool2d(try Tensor(shape: shape, values: plus), p, countIncludePad: include)
                    let fd = zip(zip(yp.values, y.values), dy.values).reduce(0.0) { $0 + Double($1.0.0 - $1.0.1) * Double($1.1) }
                    XCTAssertEqual(fd, Double(dx[flat: k]), accuracy: 1e-4)
                }
            }
        }
        XCTAssertThrowsError(try avgPool2d(try Tensor(shape: [1, 1, 4, 4]), Pool2dParams(kernel: 2, dilation: 2)))
    }

    func testAdaptiveWindowsAsTorch() throws {
        var rng = TestRandom(seed: 80)
        for (h, w, oh, ow) in [(14, 14, 7, 7), (7, 7, 7, 7), (3, 5, 7, 7), (10, 13, 7, 3), (1, 1, 2, 2), (9, 9, 1, 1)] {
            let x = try rng.tensor([2, 2, h, w])
            let y = try adaptiveAvgPool2d(x, outputSize: (oh, ow))
            var expected: [Double] = []
            for plane in 0..<4 {
                for i in 0..<oh {
                    let h0 = Int((Double(i * h) / Double(oh)).rounded(.down)), h1 = Int((Double((i + 1) * h) / Double(oh)).rounded(.up))
                    for j in 0..<ow {
                        let w0 = Int((Double(j * w) / Double(ow)).rounded(.down)), w1 = Int((Double((j + 1) * w) / Double(ow)).rounded(.up))
                        var total = 0.0
                        for a in h0..<h1 { for b in w0..<w1 { total += Double(x[flat: plane * h * w + a * w + b]) } }
                        expected.append(total / Double((h1 - h0) * (w1 - w0)))
                    }
                }
            }
            assertClose(y.values, expected, atol: 1e-6, rtol: 1e-6, "\(h)x\(w) → \(oh)x\(ow)")
            if h == oh && w == ow { XCTAssertEqual(y.values, x.values) }
            let dy = try rng.tensor(y.shape)
            let dx = try adaptiveAvgPool2dBackward(gradOutput: dy, inputShape: x.shape)
            // The forward is linear: ⟨dy, f(e_k)⟩ = dx[k].
            for _ in 0..<4 {
                let k = rng.int(0..<x.count)
                var basis = [Float](repeating: 0, count: x.count)
                basis[k] = 1
                let fk = try adaptiveAvgPool2d(try Tensor(shape: x.shape, values: basis), outputSize: (oh, ow))
                let inner = zip(fk.values, dy.values).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                XCTAssertEqual(inner, Double(dx[flat: k]), accuracy: 1e-5)
            }
        }
        XCTAssertThrowsError(try adaptiveAvgPool2d(try Tensor(shape: [1, 1, 4, 4]), outputSize: (0, 2)))
    }

    func testGlobalAveragePool() throws {
        var rng = TestRandom(seed: 90)
        let x = try rng.tensor([3, 4, 7, 9])
        let y = try globalAvgPool(x)
        XCTAssertEqual(y.shape, [3, 4, 1, 1])
        let expected = (0..<12).map { p in (0..<63).reduce(0.0) { $0 + Double(x[flat: p * 63 + $1]) } / 63 }
        assertClose(y.values, expected, atol: 1e-6, rtol: 1e-6)
        XCTAssertEqual(try adaptiveAvgPool2d(x, outputSize: (1, 1)).shape, y.shape)
        assertClose(try adaptiveAvgPool2d(x, outputSize: (1, 1)).values, expected, atol: 1e-6, rtol: 1e-6)
        let dy = try rng.tensor([3, 4, 1, 1])
        let dx = try globalAvgPoolBackward(gradOutput: dy, inputShape: x.shape)
        XCTAssertEqual(dx.values, (0..<x.count).map { dy[flat: $0 / 63] / 63 })
        XCTAssertEqual(try globalAvgPoolBackward(gradOutput: try dy.reshaped([3, 4]), inputShape: x.shape), dx)
        XCTAssertThrowsError(try globalAvgPoolBackward(gradOutput: dy, inputShape: [3, 5, 7, 9]))
    }
}

final class PaddingTests: XCTestCase {
    func testPadAndCrop() throws {
        let x = try Tensor(shape: [1, 2, 2, 3], values: (1...12).map(Float.init))
        let y = try pad2d(x, top: 1, left: 0, bottom: 2, right: 1, value: -1)
        XCTAssertEqual(y.shape, [1, 2, 5, 4])
        XCTAssertEqual(Array(y.values[0..<20]), [-1, -1, -1, -1, 1, 2, 3, -1, 4, 5, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1])
        let back = try pad2dBackward(gradOutput: y, top: 1, left: 0, bottom: 2, right: 1)
        XCTAssertEqual(back, x)
        XCTAssertThrowsError(try pad2d(x, top: -1, left: 0, bottom: 0, right: 0))
        XCTAssertThrowsError(try pad2dBackward(gradOutput: y, top: 3, left: 0, bottom: 2, right: 0))
    }

    /// Zero padding followed by a valid convolution equals the convolution's own padding
    /// (Keras ZeroPadding2D + Conv2D(padding: "valid") vs torch padding).
    func testZeroPaddingThenValidConvEqualsPaddedConv() throws {
        var rng = TestRandom(seed: 95)
        let x = try rng.tensor([1, 3, 8, 7]), w = try rng.tensor([2, 3, 3, 3])
        let padded = try conv2d(try pad2d(x, top: 0, left: 0, bottom: 1, right: 1), weight: w, params: Conv2dParams(stride: 2))
        let direct = try conv2d(x, weight: w, params: Conv2dParams(stride: (2, 2), padding: (0, 0, 1, 1)))
        assertClose(padded.values, direct.values, atol: 1e-6, rtol: 1e-6)
    }
}
