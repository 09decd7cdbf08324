import GraftPickle
import GraftTestSupport
import XCTest

/// Real pickles cut at every byte and corrupted at random (seeded, so every run is the same):
/// each must decode or fail with a `PickleError`, never trap, hang or throw anything else.
final class PickleMutationTests: XCTestCase {
    static let fixtures = [
        "nested_p0.pkl", "nested_p2.pkl", "nested_p4.pkl", "nested_p5.pkl", "ordered_dict_metadata.pkl",
        "torch_state_dict.pkl", "torch_state_dict_p4.pkl", "torch_adam_state.pkl", "legacy_linear.pt",
    ]

    /// Small limits, so that mutations that blow a length or a count up stay cheap.
    let machine = PickleMachine(
        allowedGlobals: torchGlobals,
        limits: PickleLimits(maxOperations: 100_000, maxNodes: 100_000, maxStringLength: 1 << 20))

    private func decodeOrPickleError(_ bytes: [UInt8], _ label: String) {
        do {
            _ = try machine.decode(bytes)
        } catch is PickleError {
        } catch {
            XCTFail("\(label): non-pickle error \(error)")
        }
    }

    func testEveryTruncationIsRefusedCleanly() throws {
        for name in Self.fixtures {
            let bytes = try fixtureBytes(name)
            let stop = try machine.decode(bytes).end  // the legacy file holds more than one pickle
            for end in 0..<stop {
                XCTAssertThrowsError(try machine.decode(Array(bytes[0..<end]))) { error in
                    XCTAssertTrue(error is PickleError, "\(name) cut at \(end): \(error)")
                }
            }
        }
    }

    func testRandomByteMutationsNeverTrap() throws {
        var state: UInt64 = 0xC0FFEE
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: (state >> 33) % UInt64(bound))
        }
        let interesting: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x28, 0x2E, 0x68, 0x71, 0x93, 0x94, 0x95]
        for name in Self.fixtures {
            let original = try fixtureBytes(name)
            for round in 0..<400 {
                var bytes = original
                for _ in 0...next(4) {
                    let i = next(bytes.count)
                    bytes[i] =
                        next(2) == 0
                        ? UInt8(truncatingIfNeeded: next(256)) : interesting[next(interesting.count)]
                }
                decodeOrPickleError(bytes, "\(name) round \(round)")
            }
        }
    }
}
