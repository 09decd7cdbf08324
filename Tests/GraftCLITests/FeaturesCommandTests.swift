import Foundation
import GraftCore
import GraftTestSupport
import XCTest

/// `graft features` and module paths on the command line.
final class FeaturesCommandTests: CLITestCase {
    let checkpoint = TestPaths.fixture("torch/resnet18_mini.pth")
    let input = TestPaths.fixture("models/input_2x3x64x64.npy")

    func testFeaturesWritesTorchvisionsIntermediates() throws {
        for (layer, file) in [("layer2", "resnet18_mini_layer2.npy"), ("pool", "resnet18_mini_pool.npy")] {
            let out = path("\(layer).npy")
            let r = try graft(["features", "--arch", "resnet", "--checkpoint", checkpoint, "--input", input, "--layer", layer, "--output", out])
            XCTAssertEqual(r.status, 0, r.stderr)
            let got = try NpyArray(contentsOfFile: out), want = try NpyArray(contentsOfFile: TestPaths.fixture("features/\(file)"))
            XCTAssertEqual(got.shape, want.shape)
            let worst = zip(got.values, want.values).map { abs($0 - $1) / (1e-4 + 1e-4 * abs($1)) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(worst, 1, layer)
        }
    }

    func testUnknownModulePathsAreErrorsListingValidOnes() throws {
        let out = path("x.npy")
        let r = try graft(["features", "--arch", "resnet", "--checkpoint", checkpoint, "--input", input, "--layer", "layer9", "--output", out])
        assertRefused(r, naming: ["resnet18_mini.pth", "no module 'layer9'", "layer1.0.conv1"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let tuned = path("tuned.safetensors")
        let f = try graft(["finetune", "--arch", "resnet", "--checkpoint", TestPaths.fixture("demo/backbone.pth"),
                           "--data", TestPaths.fixture("demo/images"), "--epochs", "1", "--freeze", "until:layer9", "--output", tuned])
        assertRefused(f, naming: ["backbone.pth", "no module 'layer9'", "layer4"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: tuned))
    }
}
