import GraftNN
import GraftTensor
import XCTest

/// Residual and Concat backward against central finite differences of L = Σ w·y: the input gradient
/// (where branches meet, their gradients must add up) and every trainable parameter's.
final class CombinatorGradientTests: XCTestCase {
    /// Checks `module`'s analytic gradients on a random input of `shape` (training mode, BatchNorm on
    /// batch statistics). Float32 forwards with ε = 1e-2: agreement to ~1e-3 is what the arithmetic allows.
    func checkGradients(_ module: Module, input shape: [Int], seed: UInt64, file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = SeededGenerator(seed: seed)
        module.initialize(seed: seed)
        let x = try randomTensor(shape, &rng)
        module.train()
        _ = module.prepareBackward(trainableBefore: true)  // as if something before it trained: ∂L/∂x is wanted
        let y = try module(x)
        let w = randomValues(y.count, &rng)
        for p in module.parameters { p.grad = nil }
        let dx = try XCTUnwrap(try module.backward(try Tensor(shape: y.shape, values: w)), file: file, line: line)
        XCTAssertEqual(dx.shape, x.shape, file: file, line: line)

        func loss(_ input: Tensor) throws -> Double {
            zip(try module(input).values, w).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        func numeric(_ value: [Float], at i: Int, _ evaluate: ([Float]) throws -> Double) rethrows -> Double {
            let eps: Float = 1e-2
            var plus = value, minus = value
            plus[i] += eps
            minus[i] -= eps
            return (try evaluate(plus) - evaluate(minus)) / Double(2 * eps)
        }
        func assertClose(_ analytic: Float, _ numeric: Double, _ what: String) {
            XCTAssertLessThanOrEqual(abs(Double(analytic) - numeric), 2e-3 + 2e-2 * abs(numeric),
                                     "\(what): backward \(analytic), finite differences \(numeric)", file: file, line: line)
        }

        let xs = x.values, dxs = dx.values
        for i in xs.indices {
            assertClose(dxs[i], try numeric(xs, at: i) { try loss(try Tensor(shape: shape, values: $0)) }, "∂L/∂x[\(i)]")
        }
        var checked = 0
        for (name, p) in module.trainableParameters() {
            let grad = try XCTUnwrap(p.grad, "\(name) has no gradient", file: file, line: line).values
            let original = p.value
            // A spread of elements of each parameter (all of the small ones).
            for i in stride(from: 0, to: original.count, by: max(1, original.count / 8)) {
                let n = try numeric(original.values, at: i) { values in
                    p.value = try Tensor(shape: original.shape, values: values)
                    return try loss(x)
                }
                p.value = original
                assertClose(grad[i], n, "∂L/∂\(name)[\(i)]")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 0, file: file, line: line)
    }

    /// The block's own activation is a smooth one here (sigmoid) so finite differences see no kink;
    /// like ReLU, whose kink they cannot check, its gradient follows from the saved output.
    func testResidualWithProjectionShortcutAndActivation() throws {
        let body = Sequential(Conv2d(2, 3, kernelSize: 3, padding: 1), BatchNorm2d(3), SiLU(),
                              Conv2d(3, 3, kernelSize: 3, padding: 1, bias: false))
        try checkGradients(Residual(body, shortcut: Conv2d(2, 3, kernelSize: 1, bias: false), activation: .sigmoid),
                           input: [2, 2, 4, 4], seed: 21)
    }

    /// SiLU's gradient needs its input: the block keeps the sum before the activation.
    func testResidualWithAnActivationWhoseGradientNeedsItsInput() throws {
        let body = Sequential(Conv2d(2, 2, kernelSize: 3, padding: 1), BatchNorm2d(2))
        try checkGradients(Residual(body, activation: .silu), input: [2, 2, 4, 4], seed: 23)
    }

    func testResidualWithIdentityShortcut() throws {
        let body = Sequential(Conv2d(3, 3, kernelSize: 3, padding: 1), SiLU())
        try checkGradients(Residual(body), input: [2, 3, 4, 4], seed: 22)
    }

    func testConcatAddsTheGradientsOfBranchesSharingTheInput() throws {
        let concat = Concat([Conv2d(2, 3, kernelSize: 1),
                             Sequential(Conv2d(2, 2, kernelSize: 3, padding: 1), BatchNorm2d(2), SiLU()),
                             Identity()])
        try checkGradients(concat, input: [2, 2, 4, 4], seed: 23)
        XCTAssertEqual(try concat(try Tensor(shape: [1, 2, 3, 3])).shape, [1, 7, 3, 3])
    }

    /// Where branches meet, the gradients add up in the first branch's own buffer, taken from its
    /// binding: no copy-on-write duplicate, and the one that exists when the other is frozen.
    func testBranchGradientsAddInTheFirstBranchsBuffer() throws {
        let b = try Tensor(shape: [2, 3], values: [1, 1, 1, 1, 1, 1])
        var a: Tensor? = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let buffer = a!.storageID
        let sum = try XCTUnwrap(try sumOfGradients(&a, b))
        XCTAssertNil(a)
        XCTAssertEqual(sum.storageID, buffer)
        XCTAssertEqual(sum.values, [2, 3, 4, 5, 6, 7])
        var none: Tensor? = nil
        XCTAssertEqual(try sumOfGradients(&none, b)?.storageID, b.storageID)
        var only: Tensor? = b
        XCTAssertEqual(try sumOfGradients(&only, nil)?.values, b.values)
    }
}
