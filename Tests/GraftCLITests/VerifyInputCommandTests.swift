import Foundation
import GraftCore
import GraftTestSupport
import XCTest

/// verify blames the input for what the forward pass refuses (a rank-5 or empty batch): the checkpoint
/// already loaded, so naming it would send the user to the wrong file (found by the hostile catalogue).
final class VerifyInputCommandTests: CLITestCase {
    func testAnInputTheModelCannotTakeIsNamed() throws {
        for (name, shape) in [("rank5.npy", [1, 1, 3, 8, 8]), ("empty.npy", [1, 3, 0, 64])] {
            let file = path(name)
            try NpyArray(shape: shape, values: [Float](repeating: 0, count: shape.reduce(1, *))).write(toFile: file)
            let r = try graft(["verify", "--arch", "resnet", "--checkpoint", TestPaths.fixture("torch/resnet18_mini.pth"),
                               "--input", file, "--reference", TestPaths.fixture("models/resnet18_mini_logits.npy")])
            assertRefused(r, naming: [name])
            XCTAssertFalse(r.stderr.contains("resnet18_mini.pth"), r.stderr)
        }
    }
}
