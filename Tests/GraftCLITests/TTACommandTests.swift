import Foundation
import GraftTestSupport
import XCTest

/// `predict --tta flip|ten-crop` against PyTorch (Fixtures/train/tta.json, tools/make_tta_fixtures.py):
/// torchvision's crops and flips of the real photos, softmax per view, averaged.
final class TTACommandTests: CLITestCase {
    struct Fixture: Decodable {
        struct Case: Decodable { let photo: String; let mode: String; let probabilities: [Float] }
        let cases: [Case]
    }
    struct Result: Decodable {
        struct Prediction: Decodable { let index: Int; let probability: Float }
        let image: String
        let predictions: [Prediction]
    }

    func testTTAProbabilitiesEqualPyTorchs() throws {
        let f = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("train/tta.json"))))
        XCTAssertEqual(f.cases.count, 6)
        for c in f.cases {
            let r = try graft(["predict", "--arch", "resnet", "--checkpoint", TestPaths.fixture("torch/resnet18_mini.pth"),
                               "--weights", "ResNet18_Weights.IMAGENET1K_V1", "--tta", c.mode, "--top", "10", "--json",
                               TestPaths.fixture("demo/real/\(c.photo)")])
            XCTAssertEqual(r.status, 0, r.stderr)
            let result = try XCTUnwrap(try JSONDecoder().decode([Result].self, from: Data(r.stdout.utf8)).first)
            XCTAssertEqual(result.predictions.count, 10)
            for p in result.predictions {
                XCTAssertEqual(p.probability, c.probabilities[p.index], accuracy: 2e-6, "\(c.photo) \(c.mode) class \(p.index)")
            }
        }
        // Without TTA the flip case's first view alone: a different answer, so the views count.
        let plain = try graft(["predict", "--arch", "resnet", "--checkpoint", TestPaths.fixture("torch/resnet18_mini.pth"),
                               "--weights", "ResNet18_Weights.IMAGENET1K_V1", "--top", "1", "--json", TestPaths.fixture("demo/real/chelsea.jpg")])
        let top = try XCTUnwrap(try JSONDecoder().decode([Result].self, from: Data(plain.stdout.utf8)).first?.predictions.first)
        let flip = try XCTUnwrap(f.cases.first { $0.photo == "chelsea.jpg" && $0.mode == "flip" })
        XCTAssertGreaterThan(abs(top.probability - flip.probabilities[top.index]), 1e-4)
    }

    func testTenCropNeedsACropPreset() throws {
        let r = try graft(["predict", "--arch", "resnet", "--checkpoint", TestPaths.fixture("torch/resnet18_mini.pth"),
                           "--weights", "ResNet18_Weights.IMAGENET1K_V1", "--tta", "sideways", TestPaths.fixture("demo/real/chelsea.jpg")])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("tta"), r.stderr)
    }
}
