import GraftNN
import GraftTensor
import XCTest

/// `BatchNorm2d.forwardReLU` (one pass in training, the ReLU's gradient applied inside BatchNorm's
/// backward) gives bit for bit what the two modules give run one after the other, forward and
/// backward, with batch statistics, with running ones, and watched by an observer.
final class BatchNormReLUTests: XCTestCase {
    func run(fused: Bool, batchStatistics: Bool, observed: Bool) throws -> (y: [Float], dz: [Float], dGamma: [Float], dBeta: [Float]) {
        var rng = SeededGenerator(seed: 41)
        let bn = BatchNorm2d(6), relu = ReLU()
        for p in [bn.weight, bn.bias, bn.runningMean] { p.value = try randomTensor([6], &rng) }
        bn.train()
        relu.train()
        bn.useBatchStatistics = batchStatistics
        _ = bn.prepareBackward(trainableBefore: true)
        _ = relu.prepareBackward(trainableBefore: true)
        if observed { relu.outputObserver = { _ in } }
        let z = try randomTensor([3, 6, 5, 7], &rng), dy = try randomTensor([3, 6, 5, 7], &rng)
        let y = fused ? try bn.forwardReLU(z, after: relu) : try relu(try bn(z))
        let dz = fused ? try bn.backward(dy) : try bn.backward(try XCTUnwrap(try relu.backward(dy)))
        return (y.values, try XCTUnwrap(dz).values, try XCTUnwrap(bn.weight.grad).values, try XCTUnwrap(bn.bias.grad).values)
    }

    func testFusedEqualsTheTwoModules() throws {
        for batchStatistics in [true, false] {
            let reference = try run(fused: false, batchStatistics: batchStatistics, observed: false)
            XCTAssert(reference.y.contains(0) && reference.y.contains { $0 > 0 }, "the ReLU must cut somewhere")
            for observed in [false, true] {
                let fused = try run(fused: true, batchStatistics: batchStatistics, observed: observed)
                let label = "batch statistics \(batchStatistics), observed \(observed)"
                XCTAssertEqual(fused.y, reference.y, label)
                XCTAssertEqual(fused.dz, reference.dz, label)
                XCTAssertEqual(fused.dGamma, reference.dGamma, label)
                XCTAssertEqual(fused.dBeta, reference.dBeta, label)
            }
        }
    }
}
