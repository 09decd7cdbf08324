import GraftCore
import GraftNN
import GraftTensor
import XCTest

/// The module tree's paths and state-dict order (PyTorch's), lookup and replacement, modes reaching
/// every descendant, and freezing by module path or key pattern.
final class ModuleTreeTests: XCTestCase {
    func testPathsAndStateDictOrderAreTorchs() {
        let net = smallTree()
        XCTAssertEqual(net.namedModules().map(\.path),
                       ["", "0", "1", "2", "3", "3.body", "3.body.0", "3.body.1", "3.shortcut",
                        "4", "4.0", "4.1", "4.1.0", "4.1.1", "5", "6", "7"])
        let bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
        let keys = ["0.weight"] + bn.map { "1.\($0)" } + ["3.body.0.weight", "3.body.0.bias"] + bn.map { "3.body.1.\($0)" }
            + ["3.shortcut.weight", "4.0.weight", "4.0.bias", "4.1.0.weight", "4.1.0.bias", "7.weight", "7.bias"]
        let state = net.stateDict()
        XCTAssertEqual(state.map(\.name), keys)
        XCTAssertEqual(state[0].tensor.shape, [4, 3, 3, 3])
        XCTAssertEqual(state[0].tensor.dtype, .float32)
        // The counter is torch's int64 scalar; the parameters list leaves it out.
        let counter = state.first { $0.name == "1.num_batches_tracked" }!.tensor
        XCTAssertEqual(counter.dtype, .int64)
        XCTAssertEqual(counter.shape, [])
        XCTAssertEqual(net.namedParameters().map(\.name), keys.filter { !$0.hasSuffix("num_batches_tracked") })
    }

    func testLookupAndReplacementByPath() throws {
        let net = smallTree()
        XCTAssertTrue(net.module(at: "3.body.1") is BatchNorm2d)
        XCTAssertTrue(net.module(at: "") === net)
        XCTAssertNil(net.module(at: "3.body.9"))
        XCTAssertNil(net.module(at: "3..body"))
        XCTAssertThrowsError(try net.requireModule(at: "3.nope")) { error in
            guard case .noSuchModule(let path, let valid)? = error as? NNError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "3.nope")
            XCTAssertTrue(valid.contains("3.shortcut"))
        }
        XCTAssertTrue(net.parameter("3.body.1.running_var") === (net.module(at: "3.body.1") as? BatchNorm2d)?.runningVar)

        // A new head keeps the path, so the keys stay torch's.
        try net.replace("7", with: Linear(5, 10))
        XCTAssertEqual(net.stateDict().last?.tensor.shape, [10])
        XCTAssertEqual(net.stateDict().suffix(2).map(\.name), ["7.weight", "7.bias"])
        try net.replace("3.body", with: Identity())
        XCTAssertFalse(net.stateDict().contains { $0.name.hasPrefix("3.body.") })
        XCTAssertThrowsError(try net.replace("9", with: Identity()))
        // A leaf has no children to replace.
        XCTAssertThrowsError(try net.replace("0.weight", with: Identity()))
    }

    func testTrainAndEvalReachEveryDescendant() {
        let net = smallTree()
        let all = net.namedModules().map(\.module)
        XCTAssertTrue(all.allSatisfy { !$0.isTraining })
        net.train()
        XCTAssertTrue(all.allSatisfy(\.isTraining))
        XCTAssertTrue(net.module(at: "4.1.1")!.isTraining, "the dropout inside a Concat branch")
        net.eval()
        XCTAssertTrue(all.allSatisfy { !$0.isTraining })
        net.prepareTraining()
        XCTAssertTrue(all.allSatisfy(\.isTraining))
        net.prepareInference()
        XCTAssertTrue(all.allSatisfy { !$0.isTraining && !$0.recordsForBackward && !$0.needsInputGradient })
    }

    func testFreezeAndUnfreezeByPathOrPattern() throws {
        let net = smallTree()
        let all = net.trainableParameters().map(\.name)
        XCTAssertEqual(all.count, 14)
        XCTAssertFalse(all.contains { $0.contains("running_") }, "buffers never train")

        // A module path freezes its whole subtree (5 parameters; the BatchNorm's buffers do not count).
        XCTAssertEqual(try net.freeze(matching: "3"), 5)
        XCTAssertEqual(net.trainableParameters().map(\.name), all.filter { !$0.hasPrefix("3.") })
        XCTAssertFalse(net.module(at: "3")!.hasTrainableParameters)
        XCTAssertTrue(net.hasTrainableParameters)

        // A pattern matches keys: every bias, wherever it is.
        XCTAssertEqual(try net.freeze(matching: "*.bias"), 6)
        XCTAssertEqual(net.trainableParameters().map(\.name), ["0.weight", "1.weight", "4.0.weight", "4.1.0.weight", "7.weight"])

        XCTAssertEqual(try net.unfreeze(matching: "3.body", "7"), 6)
        XCTAssertTrue(net.parameter("3.body.1.weight")!.requiresGrad)
        XCTAssertTrue(net.parameter("7.bias")!.requiresGrad)
        XCTAssertFalse(net.parameter("3.shortcut.weight")!.requiresGrad)
        XCTAssertFalse(net.parameter("3.body.1.running_mean")!.requiresGrad, "unfreezing leaves buffers alone")
        XCTAssertFalse(net.parameter("3.body.1.running_mean")!.isTrainable)

        XCTAssertThrowsError(try net.freeze(matching: "layer9"))
        XCTAssertEqual(try net.freeze(matching: "nothing*"), 0)
    }
}
