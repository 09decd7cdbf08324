import GraftNN
import GraftTensor
import XCTest

/// Sequential's inference path (BatchNorm folded into the convolution, activations in the kernels'
/// epilogues) computes what the modules compute one by one.
final class SequentialFusionTests: XCTestCase {
    func testFusedInferenceEqualsTheModulesOneByOne() throws {
        var rng = SeededGenerator(seed: 5)
        let net = Sequential(
            Conv2d(3, 8, kernelSize: 3, padding: 1, bias: false), BatchNorm2d(8), ReLU(),              // conv + bn + relu
            Conv2d(8, 8, kernelSize: 3, stride: 2, padding: 1, groups: 2), BatchNorm2d(8), SiLU(),     // grouped, biased
            Conv2d(8, 4, kernelSize: 1), BatchNorm2d(4),                                               // no activation
            Conv2d(4, 4, kernelSize: 1), ReLU6(),                                                      // no norm
            AdaptiveAvgPool2d(1), Flatten(), Linear(4, 6), ReLU6(), Linear(6, 3))                     // linear + act
        net.initialize(seed: 5)
        try randomizeNorms(net, &rng)
        let x = try randomTensor([2, 3, 9, 9], &rng)

        net.prepareInference()
        let fused = try net(x)

        // Training mode with BatchNorm on its running statistics: the same function, but every module
        // records for backward, so none is fused away.
        net.train()
        for case let norm as BatchNorm2d in net.layers { norm.useBatchStatistics = false }
        _ = net.prepareBackward(trainableBefore: false)
        XCTAssertTrue(net.layers.allSatisfy { !$0.fusable })
        let plain = try net(x)

        XCTAssertEqual(fused.shape, [2, 3])
        XCTAssertEqual(fused.shape, plain.shape)
        for (i, (a, b)) in zip(fused.values, plain.values).enumerated() {
            XCTAssertLessThanOrEqual(abs(a - b), 1e-5 + 1e-5 * abs(b), "logit \(i): fused \(a), one by one \(b)")
        }
        // Not a vacuous comparison: the BatchNorms moved the values.
        net.prepareInference()
        for case let norm as BatchNorm2d in net.layers { norm.runningMean.value = try Tensor(shape: [norm.numFeatures]) }
        XCTAssertNotEqual(try net(x).values, fused.values)
    }

    /// A module with an output observer keeps its own output visible: it is never fused away.
    func testAnObservedModuleIsNotFusedAway() throws {
        var rng = SeededGenerator(seed: 6)
        let conv = Conv2d(2, 3, kernelSize: 3, padding: 1), norm = BatchNorm2d(3), relu = ReLU()
        let net = Sequential(conv, norm, relu)
        net.initialize(seed: 6)
        try randomizeNorms(net, &rng)
        let x = try randomTensor([1, 2, 5, 5], &rng)
        net.prepareInference()
        let fused = try net(x)
        var seen: Tensor?
        norm.outputObserver = { seen = $0 }
        XCTAssertFalse(norm.fusable)
        let observed = try net(x)
        let normalized = try XCTUnwrap(seen)
        XCTAssertEqual(normalized.shape, [1, 3, 5, 5])
        XCTAssertTrue(normalized.values.contains { $0 < 0 }, "the BatchNorm's own output, before the ReLU")
        for (a, b) in zip(observed.values, fused.values) { XCTAssertLessThanOrEqual(abs(a - b), 1e-5 + 1e-5 * abs(b)) }
    }
}
