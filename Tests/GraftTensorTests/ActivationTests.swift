import Foundation
import GraftTensor
import XCTest

final class ActivationTests: XCTestCase {
    static let kinds: [Activation] = [.none, .relu, .relu6, .silu, .sigmoid, .hardswish, .hardsigmoid, .gelu]

    /// Inputs covering both signs, the ReLU6 clip, the exp polynomial's range-reduction seams and
    /// the overflow clamps; odd counts exercise the vector tails.
    static func inputs() throws -> Tensor {
        var values: [Float] = [0, -0.0, 1e-30, -1e-30, 5.999, 6, 6.001, -6, 88, -88, 100, -100, 1e6, -1e6,
                               .infinity, -.infinity, 3, -3, Float(3).nextUp, Float(3).nextDown, Float(-3).nextUp, Float(-3).nextDown]
        var rng = TestRandom(seed: 11)
        for _ in 0..<997 { values.append(rng.float(-20, 20)) }
        for i in -300..<300 { values.append(Float(i) * 0.3465736) }  // multiples of ln2/2
        return try Tensor(shape: [values.count], values: values)
    }

    func testForwardMatchesDoubleReference() throws {
        let x = try Self.inputs()
        for kind in Self.kinds {
            let y = activation(x, kind)
            // One documented departure: SiLU(−∞) is −∞ here (torch computes −∞/∞ = NaN).
            let expected = x.values.map { v -> Double in
                kind == .silu && v == -.infinity ? -.infinity : naiveActivation(Double(v), kind)
            }
            // SiLU/sigmoid go through the vector exp: accurate to a few ulp. GELU's erfc(−x/√2) inherits
            // the rounding of x/√2 amplified by 2x²/2 in the left tail, where the values are tiny.
            assertClose(y.values, expected, atol: kind == .gelu ? 1e-8 : 1e-30, rtol: 4e-7, "\(kind)")
        }
        func bits(_ t: Tensor) -> [UInt32] { t.values.map(\.bitPattern) }
        XCTAssertEqual(bits(relu(x)), bits(activation(x, .relu)))
        XCTAssertEqual(bits(relu6(x)), bits(activation(x, .relu6)))
        XCTAssertEqual(bits(silu(x)), bits(activation(x, .silu)))
        XCTAssertEqual(bits(sigmoid(x)), bits(activation(x, .sigmoid)))
        XCTAssertEqual(bits(hardswish(x)), bits(activation(x, .hardswish)))
        XCTAssertEqual(bits(hardsigmoid(x)), bits(activation(x, .hardsigmoid)))
        XCTAssertEqual(bits(gelu(x)), bits(activation(x, .gelu)))
    }

    /// GELU's vectorized Φ against the Double reference on every 2⁻¹⁴ step of [−8, 8] (the central
    /// polynomial, the switch at |x| = 1 and the tail, where float32 rounding is tightest), and its
    /// derivative's e^(−x²/2) there too.
    func testGELUOnADenseGrid() throws {
        let values = (-131_072...131_072).map { Float($0) / 16384 }
        let x = try Tensor(shape: [values.count], values: values)
        assertClose(gelu(x).values, values.map { naiveActivation(Double($0), .gelu) }, atol: 1e-8, rtol: 4e-7, "gelu")
        let ones = try Tensor(shape: x.shape, repeating: 1)
        let slope = try activationBackward(.gelu, gradOutput: ones, input: x)
        let expected = values.map { v -> Double in
            let u = Double(v)
            return 0.5 * Foundation.erfc(-u / 2.0.squareRoot()) + u * Foundation.exp(-u * u / 2) / (2 * Double.pi).squareRoot()
        }
        assertClose(slope.values, expected, atol: 1e-7, rtol: 1e-6, "gelu'")
    }

    func testNaNPropagates() throws {
        let x = try Tensor(shape: [3], values: [.nan, 1, .nan])
        for kind in Self.kinds where kind != .none {
            let y = activation(x, kind).values
            XCTAssertTrue(y[0].isNaN && y[2].isNaN, "\(kind)")
            XCTAssertFalse(y[1].isNaN)
        }
    }

    func testInPlaceMatchesAndRespectsCopyOnWrite() throws {
        let x = try Self.inputs()
        for kind in Self.kinds {
            var y = x
            activateInPlace(&y, kind)
            XCTAssertEqual(y.values.map(\.bitPattern), activation(x, kind).values.map(\.bitPattern))
        }
        XCTAssertEqual(x.values.map(\.bitPattern), try Self.inputs().values.map(\.bitPattern))
    }

    func testBackwardMatchesAnalyticGradients() throws {
        var rng = TestRandom(seed: 12)
        let xs: [Float] = [-3, -0.5, 0, 0.5, 3, 5.5, 6, 6.5, 12, Float(3).nextDown, Float(-3).nextUp, -3.5, 3.5]
            + (0..<100).map { _ in rng.float(-8, 8) }
        let x = try Tensor(shape: [xs.count], values: xs)
        let dy = try rng.tensor([xs.count])
        for kind in Self.kinds {
            let dx = try activationBackward(kind, gradOutput: dy, input: x)
            let expected = zip(xs, dy.values).map { v, g -> Double in
                let v = Double(v), g = Double(g)
                switch kind {
                case .none: return g
                case .relu: return v > 0 ? g : 0
                case .relu6: return v > 0 && v < 6 ? g : 0
                case .silu:
                    let s = 1 / (1 + Foundation.exp(-v))
                    return g * s * (1 + v * (1 - s))
                case .sigmoid:
                    let s = 1 / (1 + Foundation.exp(-v))
                    return g * s * (1 - s)
                // torch's kinks: hardswish's slope is 0 at −3 and 1 at 3; hardsigmoid's 0 at both.
                case .hardswish: return v <= -3 ? 0 : v >= 3 ? g : g * (v / 3 + 0.5)
                case .hardsigmoid: return v > -3 && v < 3 ? g / 6 : 0
                case .gelu:
                    let cdf = 0.5 * Foundation.erfc(-v / 2.0.squareRoot())
                    return g * (cdf + v * Foundation.exp(-v * v / 2) / (2 * Double.pi).squareRoot())
                }
            }
            assertClose(dx.values, expected, atol: 1e-6, rtol: 1e-5, "\(kind)")
            if [.none, .relu, .relu6, .sigmoid].contains(kind) {
                let fromOutput = try activationBackward(kind, gradOutput: dy, output: activation(x, kind))
                assertClose(fromOutput.values, expected, atol: 1e-6, rtol: 1e-5, "\(kind) from output")
            }
        }
        for kind in [Activation.silu, .hardswish, .hardsigmoid, .gelu] {
            XCTAssertThrowsError(try activationBackward(kind, gradOutput: dy, output: x), "\(kind)")
        }
        XCTAssertThrowsError(try activationBackward(.relu, gradOutput: dy, input: try Tensor(shape: [3])))
    }

    /// Central differences in Double of the smooth activations agree with the backward pass.
    func testFiniteDifferences() throws {
        let xs: [Float] = [-4, -1.5, -0.25, 0.3, 1.7, 4.2]
        let x = try Tensor(shape: [xs.count], values: xs)
        let ones = try Tensor(shape: [xs.count], repeating: 1)
        for kind in [Activation.silu, .sigmoid, .hardswish, .hardsigmoid, .gelu] {
            let dx = try activationBackward(kind, gradOutput: ones, input: x).values
            for (i, v) in xs.enumerated() {
                let h: Float = 1e-2
                let plus = activation(try Tensor(shape: [1], values: [v + h]), kind).values[0]
                let minus = activation(try Tensor(shape: [1], values: [v - h]), kind).values[0]
                XCTAssertEqual(Double(plus - minus) / Double(2 * h), Double(dx[i]), accuracy: 1e-3, "\(kind) at \(v)")
            }
        }
    }
}

final class ElementwiseTests: XCTestCase {
    func testAddAndResidualActivation() throws {
        var rng = TestRandom(seed: 21)
        let a = try rng.tensor([2, 3, 5, 7]), b = try rng.tensor([2, 3, 5, 7])
        let sum = try add(a, b)
        assertClose(sum.values, zip(a.values, b.values).map { Double($0) + Double($1) }, atol: 0, rtol: 0)
        let fused = try add(a, b, activation: .relu)
        XCTAssertEqual(fused.values, sum.values.map { max($0, 0) })
        var c = a
        try addInPlace(&c, b, activation: .relu)
        XCTAssertEqual(c.values, fused.values)
        XCTAssertNotEqual(a.values, c.values)  // a itself was not modified (copy-on-write)
        var d = a
        try addInPlace(&d, b)
        XCTAssertEqual(d.values, sum.values)
        var e = a
        try addInPlace(&e, b, activation: .silu)
        XCTAssertEqual(e.values, activation(sum, .silu).values)
        XCTAssertThrowsError(try add(a, try Tensor(shape: [2, 3, 5, 6])))
        XCTAssertThrowsError(try addInPlace(&d, try Tensor(shape: [210])))
    }

    func testScalarScale() throws {
        let x = try Tensor(shape: [11], values: (0..<11).map { Float($0) - 5 })
        XCTAssertEqual(scaled(x, by: 0.5).values, x.values.map { $0 * 0.5 })
        var y = x
        scaleInPlace(&y, by: -2)
        XCTAssertEqual(y.values, x.values.map { $0 * -2 })
    }

    func testChannelScaleForwardAndBackward() throws {
        var rng = TestRandom(seed: 22)
        let x = try rng.tensor([2, 3, 4, 5]), s = try rng.tensor([2, 3])
        let y = try channelScale(x, s)
        let xv = x.values, sv = s.values
        XCTAssertEqual(y.values, (0..<x.count).map { xv[$0] * sv[$0 / 20] })
        XCTAssertEqual(try channelScale(x, try s.reshaped([2, 3, 1, 1])), y)
        let dy = try rng.tensor([2, 3, 4, 5])
        let grads = try channelScaleBackward(x: x, scale: s, gradOutput: dy)
        XCTAssertEqual(grads.input.values, (0..<x.count).map { dy[flat: $0] * sv[$0 / 20] })
        let expectedDs = (0..<6).map { row in (0..<20).reduce(0.0) { $0 + Double(dy[flat: row * 20 + $1]) * Double(xv[row * 20 + $1]) } }
        assertClose(grads.scale.values, expectedDs, atol: 1e-5, rtol: 1e-5)
        XCTAssertEqual(grads.scale.shape, [2, 3])
        XCTAssertThrowsError(try channelScale(x, try Tensor(shape: [3, 2])))
        XCTAssertThrowsError(try channelScaleBackward(x: x, scale: s, gradOutput: try Tensor(shape: [2, 3, 4, 4])))
    }
}
