import GraftNN
import GraftTensor
import GraftTrain
import XCTest

/// Optimizer steps change each weight in its own buffer: no copy-on-write duplicate of the model per
/// step (a `didSet` on `Parameter.value` once made every in-place change mutate a copy), while the
/// version still moves so caches derived from the weights (folded BatchNorm, Winograd filters) renew.
final class OptimizerInPlaceTests: XCTestCase {
    func parameter() throws -> Parameter {
        let p = Parameter(kind: .weight, value: try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]))
        p.grad = try Tensor(shape: [2, 3], values: [0.5, -1, 0, 2, 1, -0.5])
        return p
    }

    func testStepsUpdateTheWeightsInTheirOwnBuffer() throws {
        for make in [{ SGD(groups: $0) as Optimizer }, { AdamW(groups: $0) as Optimizer }] {
            let p = try parameter()
            let optimizer = make([ParameterGroup(name: "all", parameters: [p], learningRate: 0.1, weightDecay: 0.01,
                                                 momentum: 0.9)])
            let buffer = p.value.storageID, version = p.version, before = p.value.values
            try optimizer.step()
            XCTAssertEqual(p.value.storageID, buffer, "\(type(of: optimizer)) copied the weight to change it")
            XCTAssertEqual(p.version, version + 1)
            XCTAssertNotEqual(p.value.values, before)
            // A tensor that shares the buffer keeps its values: copy-on-write still holds.
            let shared = p.value, kept = shared.values
            try optimizer.step()
            XCTAssertEqual(shared.values, kept)
            XCTAssertNotEqual(p.value.storageID, shared.storageID)
            XCTAssertNotEqual(shared.values, p.value.values)
        }
    }
}
