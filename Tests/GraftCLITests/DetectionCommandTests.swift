import Foundation
import GraftTestSupport
import XCTest

/// The CLI without `--arch`: inspect reports what the keys say, convert records it, verify and predict
/// use it, and a checkpoint no architecture fits exactly is a clear error (exit 2) asking for --arch.
final class DetectionCommandTests: CLITestCase {
    let densenet = TestPaths.fixture("zoo/dense/densenet_mini.pth")

    func testInspectReportsTheDetectedArchitecture() throws {
        let table = try graft(["inspect", densenet])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("detected: densenet"), table.stdout)
        let json = try graft(["inspect", "--json", TestPaths.fixture("zoo/dense/shufflenet_v2_mini.pth")])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["detectedArch"] as? String, "shufflenet_v2")
    }

    func testConvertRecordsItAndVerifyUsesIt() throws {
        let store = path("densenet.safetensors")
        let c = try graft(["convert", densenet, store])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("architecture: densenet (detected"), c.stdout)
        XCTAssertTrue(try graft(["inspect", store]).stdout.contains("arch:    densenet (recorded)"))
        for checkpoint in [densenet, store] {
            let v = try graft(["verify", "--checkpoint", checkpoint, "--input", TestPaths.fixture("zoo/dense/input_2x3x33x25.npy"),
                               "--reference", TestPaths.fixture("zoo/dense/densenet_mini_logits.npy")])
            XCTAssertEqual(v.status, 0, v.stderr + v.stdout)
            XCTAssertTrue(v.stdout.contains("OK: within"), v.stdout)
        }
    }

    func testWhatNoArchitectureFitsIsAnErrorAskingForArch() throws {
        // MobileNetV3 miniatures have four blocks; no torchvision layout, so nothing fits exactly.
        let checkpoint = TestPaths.fixture("zoo/mobile/mobilenet_v3_mini.pth")
        let inspect = try graft(["inspect", checkpoint])
        XCTAssertEqual(inspect.status, 0)
        XCTAssertTrue(inspect.stdout.contains("detected: none"), inspect.stdout)
        let p = try graft(["predict", "--checkpoint", checkpoint, TestPaths.fixture("images/png_rgb8_37x29.png")])
        XCTAssertEqual(p.status, 2, p.stderr)
        XCTAssertTrue(p.stderr.contains("pass --arch"), p.stderr)
        let c = try graft(["convert", checkpoint, path("mobile.safetensors")])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("architecture: not recorded"), c.stdout)
    }

    /// A new family end to end: fine-tune with the architecture detected and a module path of its own
    /// tree, then predict with the store alone (it records the architecture and the classes).
    func testFineTuneAndPredictADetectedDenseNet() throws {
        let tuned = path("tuned.safetensors")
        let f = try graft(["finetune", "--checkpoint", densenet, "--data", TestPaths.fixture("demo/images"), "--epochs", "1",
                           "--freeze", "until:features.denseblock2", "--lr", "1e-3", "--output", tuned])
        XCTAssertEqual(f.status, 0, f.stderr)
        XCTAssertTrue(f.stdout.hasPrefix("densenet:"), f.stdout)
        let p = try graft(["predict", "--checkpoint", tuned, TestPaths.fixture("demo/images/val/grid/grid_000.png")])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(["crescent", "frame", "grid"].contains { p.stdout.contains($0) }, p.stdout)
    }

    /// `graft summary`: a builder's table, and the JSON of a detected checkpoint.
    func testSummaryOfABuilderAndOfACheckpoint() throws {
        let table = try graft(["summary", "--arch", "mobilenet_v3_small"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("total params: 2,542,856"), table.stdout)
        XCTAssertTrue(table.stdout.contains("features.12 ("), table.stdout)
        let json = try graft(["summary", "--checkpoint", densenet, "--size", "33", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["arch"] as? String, "densenet")
        XCTAssertEqual(object?["input_shape"] as? [Int], [1, 3, 33, 33])
        XCTAssertNotNil(object?["total_params"] as? Int)
        XCTAssertGreaterThan((object?["layers"] as? [Any])?.count ?? 0, 10)
        let nothing = try graft(["summary"])
        XCTAssertNotEqual(nothing.status, 0)
        XCTAssertTrue(nothing.stderr.contains("give --arch, --checkpoint or both"), nothing.stderr)
    }
}

/// Issue 16: a data set that cannot be measured is refused (exit 2, nothing written) instead of
/// "training" to accuracy 0.
final class UnreadableDataCommandTests: CLITestCase {
    func folder(corruptValidation: Bool, corruptClass: Bool) throws -> String {
        let root = path("data")
        for (split, source) in [("train", "train"), ("val", "val")] {
            for (name, from) in [("a", "crescent"), ("b", "frame")] {
                let dir = "\(root)/\(split)/\(name)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let src = TestPaths.fixture("demo/images/\(source)/\(from)")
                for file in try FileManager.default.contentsOfDirectory(atPath: src).sorted() where file.hasSuffix(".png") {
                    let corrupt = (split == "val" && corruptValidation) || (split == "train" && name == "b" && corruptClass)
                    if corrupt {
                        try Data("junk".utf8).write(to: URL(fileURLWithPath: "\(dir)/\(file)"))
                    } else {
                        try FileManager.default.copyItem(atPath: "\(src)/\(file)", toPath: "\(dir)/\(file)")
                    }
                }
            }
        }
        return root
    }

    func testNoReadableValidationImageOrAnEmptyClassIsRefused() throws {
        for (validation, emptyClass, message) in [(true, false, "no validation image could be read"),
                                                  (false, true, "class 'b' has no readable training image")] {
            let data = try folder(corruptValidation: validation, corruptClass: emptyClass)
            let out = path("tuned-\(validation).safetensors")
            let r = try graft(["finetune", "--arch", "resnet", "--checkpoint", TestPaths.fixture("demo/backbone.pth"),
                               "--data", data, "--epochs", "1", "--output", out])
            XCTAssertEqual(r.status, 2, r.stdout)
            XCTAssertTrue(r.stderr.contains(message), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
            try FileManager.default.removeItem(atPath: data)
        }
    }
}
