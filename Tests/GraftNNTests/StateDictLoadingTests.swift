import GraftCore
import GraftNN
import GraftTensor
import XCTest

/// `load(stateDict:)` / `load(from:)`: a state dict round-trips, and every missing, unexpected and
/// mis-shaped key is named at once.
final class StateDictLoadingTests: XCTestCase {
    func trained() -> Sequential {
        let net = smallTree()
        net.initialize(seed: 11)
        (net.module(at: "1") as! BatchNorm2d).batchesTracked.value = 42
        return net
    }

    func testAStateDictRoundTrips() throws {
        let source = trained(), target = smallTree()
        XCTAssertEqual(try target.load(stateDict: source.stateDict()), [])
        for ((name, a), (otherName, b)) in zip(source.stateDict(), target.stateDict()) {
            XCTAssertEqual(name, otherName)
            XCTAssertEqual(a.shape, b.shape, name)
            XCTAssertEqual(Array(a.data.bytes), Array(b.data.bytes), name)
        }
        XCTAssertEqual((target.module(at: "1") as! BatchNorm2d).batchesTracked.value, 42)
    }

    func testEveryProblemIsNamedAtOnce() throws {
        var state = trained().stateDict().filter { $0.name != "7.bias" && $0.name != "1.num_batches_tracked" }
        state[0] = ("0.weight", try rawFloat([4, 3, 1, 1], [Float](repeating: 0, count: 12)))
        state.append(("extra.weight", try rawFloat([2], [1, 2])))
        XCTAssertThrowsError(try smallTree().load(stateDict: state)) { error in
            // Model order first, then the unused keys; a missing BatchNorm counter is no problem
            // (checkpoints before torch 0.4.1 have none).
            XCTAssertEqual((error as? StateDictError)?.problems, [
                .shapeMismatch(key: "0.weight", expected: [4, 3, 3, 3], found: [4, 3, 1, 1]),
                .missing(key: "7.bias", shape: [3]),
                .unused(key: "extra.weight", shape: [2]),
            ])
            XCTAssertTrue(String(describing: error).contains("'extra.weight'"), "\(error)")
        }
        // Not strict, as torch: missing and unused keys are let through, a wrong shape is not.
        XCTAssertThrowsError(try smallTree().load(stateDict: state, strict: false))
        state.removeFirst()
        let target = smallTree()
        XCTAssertEqual(try target.load(stateDict: state, strict: false), [.missing(key: "0.weight", shape: [4, 3, 3, 3]), .missing(key: "7.bias", shape: [3])])
        XCTAssertEqual(target.parameter("7.weight")!.value.values, state.first { $0.name == "7.weight" }!.tensor.floatValues())
    }

    func testAllowMissingAndIgnoreAreExplicit() throws {
        let state = trained().stateDict().filter { $0.name != "7.bias" } + [("extra.weight", try rawFloat([2], [1, 2]))]
        let net = smallTree()
        let report = net.load(from: StateDictSource(state), allowMissing: { $0 == "7.bias" }, ignore: { $0.hasPrefix("extra.") })
        XCTAssertTrue(report.isClean, "\(report.problems)")
        XCTAssertEqual(report.missingAllowed.map(\.name), ["7.bias"])
        XCTAssertTrue(report.missingAllowed[0].parameter === net.parameter("7.bias"))
        let strict = net.load(from: StateDictSource(state))
        XCTAssertEqual(strict.problems, [.missing(key: "7.bias", shape: [3]), .unused(key: "extra.weight", shape: [2])])
    }
}
