import Foundation
import GraftTestSupport
import XCTest

/// `graft verify` compares like with like for Keras: a reference saved with `model.predict` (softmax
/// probabilities) verifies with no flags; `--logits` compares pre-activation logits.
final class KerasOutputsCommandTests: CLITestCase {
    func testInspectAndConvertCarryTheClassifierActivation() throws {
        let file = TestPaths.fixture("keras/resnet_mini.weights.h5")
        let i = try graft(["inspect", "--fast", file])
        XCTAssertEqual(i.status, 0, i.stderr)
        XCTAssertTrue(i.stdout.contains("outputs: logits through softmax"), i.stdout)
        let store = path("mini.safetensors")
        XCTAssertEqual(try graft(["convert", file, store]).status, 0)
        XCTAssertTrue(try graft(["inspect", "--fast", store]).stdout.contains("outputs: logits through softmax"))
        let torch = try graft(["inspect", "--fast", TestPaths.fixture("zoo/dense/densenet_mini.pth")])
        XCTAssertFalse(torch.stdout.contains("outputs:"), torch.stdout)
    }

    func testLogitsAndSoftmaxAreExclusive() throws {
        let r = try graft(["verify", "--logits", "--softmax", "--checkpoint", "x", "--input", "y", "--reference", "z"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--logits and --softmax"), r.stderr)
    }

    /// Full-size keras.applications models (tools/make_keras_fixtures.py --full): model.predict's
    /// outputs verify with no flags in every file layout, the logits with --logits, and the logits
    /// without it fail (probabilities are not logits).
    func testFullSizeKerasPredictOutputsVerifyWithNoFlags() throws {
        let folder = TestPaths.root.appendingPathComponent(".build-keras-full")
        let manifest = folder.appendingPathComponent("manifest.json").path
        guard FileManager.default.fileExists(atPath: manifest),
              FileManager.default.fileExists(atPath: folder.appendingPathComponent("resnet50.predict.npy").path) else {
            throw XCTSkip("no .build-keras-full/ with predict outputs (run tools/make_keras_fixtures.py --full)")
        }
        for (stem, arch) in [("resnet50", "ResNet50"), ("vgg16", "VGG16"), ("efficientnetb0", "EfficientNetB0")] {
            let f = { (name: String) in folder.appendingPathComponent(name).path }
            for file in ["\(stem).weights.h5", "\(stem).h5", "\(stem).full.h5"] where FileManager.default.fileExists(atPath: f(file)) {
                let common = ["verify", "--arch", arch, "--checkpoint", f(file), "--input", f("\(stem).input_nchw.npy")]
                let probabilities = try graft(common + ["--reference", f("\(stem).predict.npy")])
                XCTAssertEqual(probabilities.status, 0, "\(file): \(probabilities.stdout)\(probabilities.stderr)")
                XCTAssertTrue(probabilities.stdout.contains("softmax outputs"), probabilities.stdout)
                print("\(file) vs model.predict: \(probabilities.stdout.split(separator: "\n").first { $0.hasPrefix("max") } ?? "")")
                let logits = try graft(common + ["--logits", "--reference", f("\(stem).logits.npy")])
                XCTAssertEqual(logits.status, 0, "\(file): \(logits.stdout)\(logits.stderr)")
                print("\(file) --logits: \(logits.stdout.split(separator: "\n").first { $0.hasPrefix("max") } ?? "")")
                XCTAssertEqual(try graft(common + ["--reference", f("\(stem).logits.npy")]).status, 1, file)
            }
        }
    }
}
