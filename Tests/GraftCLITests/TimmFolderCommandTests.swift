import Foundation
import GraftStore
import GraftTestSupport
import XCTest

/// The commands on timm hub folders (the miniatures of `Fixtures/timm/`), and the export round trip
/// into timm itself (also of a head fine-tuned in Graft) when GRAFT_PYTHON names a Python with timm.
final class TimmFolderCommandTests: CLITestCase {
    func folder(_ name: String) -> String { TestPaths.fixture("timm/\(name)") }

    func testVerifyInspectPredictAndPreprocessNeedNoFlags() throws {
        let d = folder("efficientnet_b0_mini")
        let verify = try graft(["verify", "--checkpoint", d, "--input", d + "/input.npy", "--reference", d + "/logits.npy"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        let inspect = try graft(["inspect", d])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("timm:    timm folder (model.safetensors + config.json), architecture efficientnet_b0"),
                      inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("(squash mode), bicubic"), inspect.stdout)
        let predict = try graft(["predict", "--checkpoint", d + "/config.json", TestPaths.fixture("timm/photo.jpg")])
        XCTAssertEqual(predict.status, 0, predict.stderr)
        XCTAssertTrue(["rocket", "cat", "tulip", "bicycle", "lighthouse"].contains { predict.stdout.contains($0) }, predict.stdout)
        let x = path("x.npy")
        let pre = try graft(["preprocess", "--checkpoint", d, TestPaths.fixture("timm/photo.jpg"), "--output", x])
        XCTAssertEqual(pre.status, 0, pre.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: x)).suffix(3 * 32 * 32 * 4),
                       try Data(contentsOf: URL(fileURLWithPath: d + "/input.npy")).suffix(3 * 32 * 32 * 4))
    }

    func testConvertRecordsTheFolderAndExportWritesItBack() throws {
        let d = folder("convnext_tiny_mini")
        let store = path("convnext.safetensors")
        let convert = try graft(["convert", d, store])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        let recorded = try WeightStore.open(store).metadata
        XCTAssertEqual(recorded.classes?.count, 5)
        XCTAssertNotNil(recorded.preprocessing)
        XCTAssertEqual(recorded.foreign["graft.timm_architecture"], "convnext_tiny")
        let out = path("exported")
        let export = try graft(["export", "--format", "timm", store, out])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertTrue(export.stdout.contains("timm convnext_tiny, 5 classes"), export.stdout)
        let keys = Set(try WeightStore.open(out + "/model.safetensors").entries.map(\.name))
        XCTAssertEqual(keys, Set(try WeightStore.open(d + "/model.safetensors").entries.map(\.name)))
        // And the exported folder verifies again without flags.
        let verify = try graft(["verify", "--checkpoint", out, "--input", d + "/input.npy", "--reference", d + "/logits.npy"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
    }

    func testHostileConfigIsOneLineAndExitTwo() throws {
        let d = dir.appendingPathComponent("hostile").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: folder("resnet50_mini") + "/model.safetensors", toPath: d + "/model.safetensors")
        let cases = [
            (String(repeating: "{\"a\":", count: 60) + "1" + String(repeating: "}", count: 60), "nested"),
            (#"{"architecture": "resnet50", "pretrained_cfg": {"std": [0, 1, "x"]}}"#, "pretrained_cfg.std"),
            (#"{"architecture": "resnet50", "pretrained_cfg": {"crop_mode": "\u001b]0;pwned\u0007"}}"#, "crop_mode"),
            (#"{"architecture": "swin_tiny_patch4_window7_224"}"#, "has no graph in Graft"),
        ]
        for (config, fragment) in cases {
            try Data(config.utf8).write(to: URL(fileURLWithPath: d + "/config.json"))
            let run = try graft(["verify", "--checkpoint", d, "--input", d + "/x.npy", "--reference", d + "/y.npy"])
            assertRefused(run, naming: [fragment])
            XCTAssertFalse(run.stderr.contains("\u{1b}"), run.stderr)
        }
        let big = Data(repeating: UInt8(ascii: " "), count: (1 << 20) + 10)
        try big.write(to: URL(fileURLWithPath: d + "/config.json"))
        assertRefused(try graft(["inspect", d]), naming: ["larger than 1048576 bytes"])
    }

    func testExportedFolderLoadsInTimmWithTheSameLogits() throws {
        guard let python = ProcessInfo.processInfo.environment["GRAFT_PYTHON"] else {
            throw XCTSkip("set GRAFT_PYTHON to a Python with timm to load the exported folders in timm")
        }
        let script = TestPaths.root.appendingPathComponent("tools/check_timm_folders.py").path
        let (status, text) = try PythonProcess.run(python, [script, "--finetune"],
                                                   environment: ["GRAFT_EXECUTABLE": Self.executable.path])
        XCTAssertEqual(status, 0, text)
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.contains("_mini") }
        XCTAssertEqual(rows.count, 6, text)
        for row in rows {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            // verify, preprocess, the export's logits in timm and a 3-class head fine-tuned in Graft,
            // exported and loaded in timm: numbers within tolerance.
            for cell in cells.dropFirst().prefix(4) {
                XCTAssertLessThanOrEqual(Double(cell) ?? .infinity, 1e-4, String(row))
            }
        }
    }
}
