import GraftNN
import GraftTensor
import XCTest

/// Convolution settings belong to each `Conv2d`: `setConvolutionOptions` reaches every one in a
/// subtree, leaves other models alone, and changes no result beyond rounding.
final class ModuleConvolutionOptionsTests: XCTestCase {
    func makeNetwork() -> Sequential {
        let net = Sequential(
            Conv2d(8, 16, kernelSize: 3, padding: 1, bias: false), BatchNorm2d(16), ReLU(),
            Sequential(Conv2d(16, 16, kernelSize: 3, padding: 1), ReLU(), Conv2d(16, 24, kernelSize: 1)))
        net.initialize(seed: 3)
        return net
    }

    func convolutions(_ m: Module) -> [Conv2d] { m.namedModules().compactMap { $0.module as? Conv2d } }

    func testSetsEveryConvolutionOfTheSubtreeOnly() throws {
        let net = makeNetwork(), other = makeNetwork()
        XCTAssertEqual(convolutions(net).count, 3)
        XCTAssertTrue(convolutions(net).allSatisfy { $0.options == .machineDefault })
        let options = ConvolutionOptions(winograd: false, packedWeights: !ConvolutionOptions.machineDefault.packedWeights,
                                         transposedInputGradient: false)
        net.setConvolutionOptions(options)
        XCTAssertTrue(convolutions(net).allSatisfy { $0.options == options })
        XCTAssertTrue(convolutions(other).allSatisfy { $0.options == .machineDefault })
        // A subtree only: the outer convolution keeps what it had.
        let inner = try XCTUnwrap(net.module(at: "3"))
        inner.setConvolutionOptions(.machineDefault)
        XCTAssertEqual(convolutions(net).map { $0.options == options }, [true, false, false])
    }

    /// The same network under both settings: fused inference, training forward and backward agree.
    func testOtherAlgorithmsGiveTheSameResults() throws {
        var rng = SeededGenerator(seed: 11)
        let x = try Tensor(shape: [2, 8, 14, 14], values: (0..<(2 * 8 * 14 * 14)).map { _ in rng.nextUnitFloat() * 2 - 1 })
        let a = makeNetwork(), b = makeNetwork()
        b.setConvolutionOptions(ConvolutionOptions(winograd: false, packedWeights: !ConvolutionOptions.machineDefault.packedWeights,
                                                   transposedInputGradient: false))
        for net in [a, b] { net.prepareInference() }
        XCTAssertLessThan(maxDifference(try a(x), try b(x)), 1e-4)

        for net in [a, b] { net.prepareTraining() }
        let ya = try a(x), yb = try b(x)
        XCTAssertLessThan(maxDifference(ya, yb), 1e-4)
        let dy = try Tensor(shape: ya.shape, values: (0..<ya.count).map { _ in rng.nextUnitFloat() - 0.5 })
        _ = try a.backward(dy)
        _ = try b.backward(dy)
        var compared = 0
        for (pa, pb) in zip(a.parameters, b.parameters) {
            guard let ga = pa.grad, let gb = pb.grad else { continue }
            XCTAssertLessThan(maxDifference(ga, gb), 1e-3)
            compared += 1
        }
        XCTAssertGreaterThanOrEqual(compared, 5, "3 conv weights, 2 biases and BatchNorm's weight and bias")
    }

    func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.values, b.values).map { abs($0 - $1) }.max() ?? 0
    }
}
