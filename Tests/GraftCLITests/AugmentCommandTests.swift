import Foundation
import GraftTestSupport
import XCTest

/// `graft finetune --augment`: a bad list stops before any work with the reason; a good one trains.
final class AugmentCommandTests: CLITestCase {
    func finetune(_ extra: [String], output: String) throws -> Run {
        try graft(["finetune", "--arch", "resnet", "--checkpoint", TestPaths.fixture("demo/backbone.pth"),
                   "--data", TestPaths.fixture("demo/images"), "--epochs", "1", "--batch", "8", "--output", output] + extra)
    }

    func testBadAugmentListsAreRefusedWithTheReason() throws {
        let out = path("tuned.safetensors")
        for (value, reason) in [("rrc,blur", "unknown augmentation 'blur'"), ("rotate:x", "'x' in 'rotate:x' is not a number"),
                                ("flip,rrc", "'rrc' must come first"), ("jitter:0.1", "takes 3 to 4 number(s)")] {
            let r = try finetune(["--augment", value], output: out)
            XCTAssertNotEqual(r.status, 0, value)
            XCTAssertTrue(r.stderr.contains("--augment: ") && r.stderr.contains(reason), "\(value): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
        let both = try finetune(["--no-augment", "--augment", "trivial"], output: out)
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("--no-augment contradicts --augment trivial"), both.stderr)
    }

    func testTrivialAugmentTrains() throws {
        let out = path("tuned.safetensors")
        let r = try finetune(["--augment", "rrc,flip,trivial,jitter:0.2:0.2:0.2:0.05,erase:0.25"], output: out)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
    }
}
