import Foundation
import GraftTestSupport
import XCTest

/// The real-weights demo (tools/demo.sh): bundled real photos with the logits PyTorch gives for them
/// under EfficientNet-Lite0's published weights (tools/make_demo_real_fixtures.py), and — when
/// tools/fetch_demo_weights.sh has cached the weights in .cache/demo — Graft's classes and logits for
/// the same JPEGs, preprocessed by Graft.
final class RealWeightsDemoTests: CLITestCase {
    struct Manifest: Decodable {
        struct Photo: Decodable {
            struct Top: Decodable { let index: Int; let `class`: String }
            let file: String, sha256: String, source: String, licence: String, logits: String
            let top5: [Top]
        }
        struct Weights: Decodable { let file: String, sha256: String }
        let photos: [Photo]
        let weights: Weights
    }

    var real: URL { URL(fileURLWithPath: TestPaths.fixture("demo/real")) }

    func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: real.appendingPathComponent("manifest.json")))
    }

    /// Every bundled photo has a source and a licence, and PyTorch's own reading of it is a sensible class.
    func testBundledPhotosCarryTheirSourcesAndReferences() throws {
        let m = try manifest()
        XCTAssertEqual(m.photos.map(\.file), ["chelsea.jpg", "coffee.jpg", "rocket.jpg"])
        for photo in m.photos {
            XCTAssertFalse(photo.source.isEmpty || photo.licence.isEmpty, photo.file)
            XCTAssertTrue(photo.licence.contains("CC0") || photo.licence.contains("public domain"), photo.licence)
            let logits = try FileManager.default.attributesOfItem(atPath: real.appendingPathComponent(photo.logits).path)
            XCTAssertEqual(logits[.size] as? Int, 128 + 4 * 1000, "\(photo.logits): one row of 1000 float32 logits")
        }
        XCTAssertTrue((281...285).contains(m.photos[0].top5[0].index), "the cat photo is a cat to PyTorch")
        XCTAssertEqual(m.photos[1].top5[0].class, "espresso")
    }

    func testRealWeightsClassifyAndVerifyAgainstPyTorch() throws {
        let m = try manifest()
        let weights = TestPaths.root.appendingPathComponent(".cache/demo").appendingPathComponent(m.weights.file).path
        guard FileManager.default.fileExists(atPath: weights) else {
            throw XCTSkip("no \(m.weights.file) in .cache/demo (tools/fetch_demo_weights.sh fetches it)")
        }
        let store = path("lite0.safetensors")
        let convert = try graft(["convert", weights, store])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        XCTAssertTrue(convert.stdout.contains("efficientnet_lite0"), convert.stdout)

        for photo in m.photos {
            let image = real.appendingPathComponent(photo.file).path
            let predict = try graft(["predict", "--checkpoint", store, "--top", "1", image])
            XCTAssertEqual(predict.status, 0, predict.stderr)
            XCTAssertTrue(predict.stdout.contains("\(photo.top5[0].class) (\(photo.top5[0].index))"),
                          "\(photo.file): PyTorch's top-1 is \(photo.top5[0].class); Graft said \(predict.stdout)")

            let x = path("\(photo.file).npy")
            let pre = try graft(["preprocess", "--weights", "EfficientNet_Lite0_Weights.IMAGENET1K", image, "--output", x])
            XCTAssertEqual(pre.status, 0, pre.stderr)
            let verify = try graft(["verify", "--checkpoint", store, "--input", x,
                                    "--reference", real.appendingPathComponent(photo.logits).path])
            XCTAssertEqual(verify.status, 0, "\(photo.file): \(verify.stdout)\(verify.stderr)")
        }
        // The hand-offs the demo makes: a timm folder under timm's name for this graph, and ONNX.
        let timm = try graft(["export", "--format", "timm", store, path("timm")])
        XCTAssertEqual(timm.status, 0, timm.stderr)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("timm/config.json")))) as? [String: Any]
        XCTAssertEqual(config?["architecture"] as? String, "tf_efficientnet_lite0")
        let onnx = try graft(["export", "--format", "onnx", store, path("lite0.onnx")])
        XCTAssertEqual(onnx.status, 0, onnx.stderr)
    }
}
