import Foundation
import GraftCore
import GraftTestSupport
import XCTest

/// `graft explain`: Grad-CAM of a photo, written as an overlay PNG and a raw map.
final class ExplainCommandTests: CLITestCase {
    struct Reference: Decodable {
        struct Record: Decodable {
            let model: String, photo: String, layer: String
            let requested_class: Int?
            let class_index: Int, probability: Float, shape: [Int], map: [Float]
        }
        let records: [Record]
    }

    /// Real EfficientNet-Lite0 weights on the demo's photos, against PyTorch's Grad-CAM
    /// (tools/make_gradcam_fixtures.py); skipped until tools/fetch_demo_weights.sh has cached them.
    func testRealWeightsMatchPyTorchGradCAM() throws {
        let weights = TestPaths.root.appendingPathComponent(".cache/demo/efficientnet-lite0-57934424.pth").path
        guard FileManager.default.fileExists(atPath: weights) else {
            throw XCTSkip("no efficientnet-lite0-57934424.pth in .cache/demo (tools/fetch_demo_weights.sh fetches it)")
        }
        let reference = try TestPaths.decodeFixture(Reference.self, "gradcam/reference.json")
        let records = reference.records.filter { $0.model == "efficientnet_lite0" }
        XCTAssertEqual(records.count, 3)
        for (i, r) in records.enumerated() {
            let map = path("map\(i).npy"), overlay = path("overlay\(i).png")
            let run = try graft(["explain", "--checkpoint", weights, TestPaths.fixture(r.photo), "--output", overlay, "--map", map]
                                + (r.requested_class.map { ["--class", String($0)] } ?? []))
            XCTAssertEqual(run.status, 0, run.stderr)
            let got = try NpyArray(contentsOfFile: map)
            XCTAssertEqual(got.shape, r.shape, r.photo)
            let correlation = pearsonCorrelation(got.values, r.map)
            let worst = zip(got.values, r.map).map { abs($0 - $1) }.max() ?? .infinity
            print("explain \(r.photo) class \(r.class_index): correlation \(correlation), max |Δ| \(worst)")
            XCTAssertGreaterThanOrEqual(correlation, 0.999, r.photo)
            XCTAssertTrue(run.stdout.contains("(\(r.class_index))"), run.stdout)
            let png = try Data(contentsOf: URL(fileURLWithPath: overlay))
            XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        }
    }

    /// A miniature end to end (runs without downloads): explicit class and layer, JSON, the map's shape.
    func testMiniatureWithExplicitClassLayerAndJSON() throws {
        let checkpoint = TestPaths.fixture("torch/resnet18_mini.pth"), photo = TestPaths.fixture("demo/real/coffee.jpg")
        let run = try graft(["explain", "--arch", "resnet", "--checkpoint", checkpoint, photo, "--class", "3",
                             "--layer", "layer3", "--output", path("o.png"), "--map", path("m.npy"), "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(report?["class_index"] as? Int, 3)
        XCTAssertEqual(report?["layer"] as? String, "layer3")
        let map = try NpyArray(contentsOfFile: path("m.npy"))
        XCTAssertEqual(map.shape, [14, 14])
        XCTAssertTrue(map.values.allSatisfy { (0...1).contains($0) })
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("o.png")))
    }

    /// Mistakes are exit 2 with one line, and nothing is written.
    func testBadLayerAndClassAreRefusedWithoutWriting() throws {
        let checkpoint = TestPaths.fixture("torch/resnet18_mini.pth"), photo = TestPaths.fixture("demo/real/coffee.jpg")
        for (extra, expected) in [(["--layer", "layer9"], "no module 'layer9'"), (["--layer", "layer4.0.relu"], "runs once per forward"),
                                  (["--class", "5000"], "outside"), (["--class", "no such thing"], "--class")] {
            let run = try graft(["explain", "--arch", "resnet", "--checkpoint", checkpoint, photo, "--output", path("x.png")] + extra)
            XCTAssertEqual(run.status, 2, "\(extra): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(expected), "\(extra): \(run.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.png")), "\(extra)")
        }
    }

}
