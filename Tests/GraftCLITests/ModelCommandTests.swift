import Foundation
import GraftCore
import GraftStore
import GraftTestSupport
import XCTest

/// `graft verify / predict / preprocess` end to end on the miniatures.
final class ModelCommandTests: CLITestCase {
    let checkpoint = TestPaths.fixture("torch/resnet18_mini.pth")
    let input = TestPaths.fixture("models/input_2x3x64x64.npy")
    let logits = TestPaths.fixture("models/resnet18_mini_logits.npy")

    func testVerifyPassesAndFailsWithTheRightExitCodes() throws {
        let outputs = path("outputs.npy")
        let ok = try graft(["verify", "--arch", "resnet", "--checkpoint", checkpoint, "--input", input, "--reference", logits,
                            "--output", outputs, "--json"])
        XCTAssertEqual(ok.status, 0, ok.stderr + ok.stdout)
        let report = try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(report?["withinTolerance"] as? Bool, true)
        XCTAssertEqual(report?["top1Agreement"] as? Double, 1)
        let share = try XCTUnwrap(report?["worstToleranceShare"] as? Double)
        XCTAssertTrue(share > 0 && share < 1, "\(share)")
        // --output holds Graft's logits: as close to the reference as the report says.
        let written = try NpyArray(contentsOfFile: outputs), reference = try NpyArray(contentsOfFile: logits)
        XCTAssertEqual(written.shape, reference.shape)
        let maxAbs = zip(written.values, reference.values).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertEqual(Double(maxAbs), try XCTUnwrap(report?["maxAbsDiff"] as? Double), accuracy: 1e-9)

        // A reference that is off by 1e-3 somewhere fails (exit 1), it is not bad input.
        var shifted = try NpyArray(contentsOfFile: logits)
        shifted.values[3] += 1e-3
        let wrong = path("wrong.npy")
        try shifted.write(toFile: wrong)
        let fail = try graft(["verify", "--arch", "resnet", "--checkpoint", checkpoint, "--input", input, "--reference", wrong])
        XCTAssertEqual(fail.status, 1, fail.stdout)
        XCTAssertTrue(fail.stdout.contains("FAILED"))
    }

    /// NaN pixels are reported as such (not as "max |Δ| 0"), and a reference that cannot be compared
    /// leaves no --output behind (issue 16).
    func testVerifyNamesNonFiniteInputsAndWritesOutputOnlyOnSuccess() throws {
        var x = try NpyArray(contentsOfFile: input)
        x.values[5] = .nan
        let nanInput = path("nan.npy")
        try x.write(toFile: nanInput)
        let r = try graft(["verify", "--arch", "resnet", "--checkpoint", checkpoint, "--input", nanInput, "--reference", logits])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("the input has 1 NaN and 0 infinite values"), r.stdout)
        XCTAssertTrue(r.stdout.contains("max |Δ| over finite pairs"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Graft's output has"), r.stdout)
        let json = try graft(["verify", "--arch", "resnet", "--checkpoint", checkpoint, "--input", nanInput, "--reference", logits, "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual((report?["inputNonFinite"] as? [String: Any])?["nan"] as? Int, 1, json.stdout)

        let reference = try NpyArray(contentsOfFile: logits)
        let wrongShape = path("wrong-shape.npy")
        try NpyArray(shape: [1, reference.values.count], values: reference.values).write(toFile: wrongShape)
        let out = path("out.npy")
        let refused = try graft(["verify", "--arch", "resnet", "--checkpoint", checkpoint, "--input", input,
                                 "--reference", wrongShape, "--output", out])
        assertRefused(refused, naming: ["wrong-shape.npy", "reference shape"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "--output written although nothing was compared")
    }

    func testStrictLoadingNamesTheKey() throws {
        let r = try graft(["verify", "--arch", "resnet34", "--checkpoint", checkpoint, "--input", input, "--reference", logits])
        assertRefused(r, naming: ["resnet18_mini.pth", "conv1.weight", "[64, 3, 7, 7]"])
        // A store without fc.bias: strict loading names the key; --allow-missing initializes it instead.
        let store = try WeightStore.open(checkpoint)
        let partial = path("partial.safetensors")
        try WeightStore.inMemory(try store.entries.filter { $0.name != "fc.bias" }.map { ($0.name, try $0.tensor.load()) },
                                 metadata: StoreMetadata()).writeSafetensors(to: partial)
        let missing = try graft(["verify", "--arch", "resnet", "--checkpoint", partial, "--input", input, "--reference", logits])
        assertRefused(missing, naming: ["partial.safetensors", "missing key 'fc.bias'", "--allow-missing"])
        let relaxed = try graft(["verify", "--arch", "resnet", "--checkpoint", partial, "--input", input, "--reference", logits,
                                 "--allow-missing", "fc.*"])
        XCTAssertEqual(relaxed.status, 1, relaxed.stderr)  // runs; the new bias changes the logits
    }

    func testPreprocessAndPredict() throws {
        let image = TestPaths.fixture("images/png_rgb8_37x29.png")
        guard FileManager.default.fileExists(atPath: image) else { throw XCTSkip("no test image") }
        let npy = path("x.npy")
        let p = try graft(["preprocess", "--weights", "ResNet50_Weights.IMAGENET1K_V2", image, "--output", npy])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertEqual(try NpyArray(contentsOfFile: npy).shape, [3, 224, 224])
        let r = try graft(["predict", "--arch", "resnet", "--checkpoint", checkpoint, image, "--top", "3", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let results = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]
        let predictions = results?.first?["predictions"] as? [[String: Any]]
        XCTAssertEqual(predictions?.count, 3)
        let total = predictions?.compactMap { $0["probability"] as? Double }.reduce(0, +) ?? 0
        XCTAssertGreaterThan(total, 0)
        XCTAssertLessThanOrEqual(total, 1.0001)
    }

    /// A store whose recorded preprocessing cannot be read stops predict (exit 2, the store named)
    /// instead of quietly running on another preset; named weights still work.
    func testAnUnreadablePreprocessingRecordIsBadInput() throws {
        let image = TestPaths.fixture("images/png_rgb8_37x29.png")
        guard FileManager.default.fileExists(atPath: image) else { throw XCTSkip("no test image") }
        let store = try WeightStore.open(checkpoint)
        var meta = StoreMetadata()
        meta.arch = "resnet"
        meta.preprocessing = "{\"resize\": "
        let bad = path("bad-record.safetensors")
        try WeightStore.inMemory(try store.entries.map { ($0.name, try $0.tensor.load()) }, metadata: meta).writeSafetensors(to: bad)
        assertRefused(try graft(["predict", "--checkpoint", bad, image]), naming: ["bad-record.safetensors", "graft.preprocessing"])
        let named = try graft(["predict", "--checkpoint", bad, "--weights", "ResNet18_Weights.IMAGENET1K_V1", image])
        XCTAssertEqual(named.status, 0, named.stderr)
    }
}
