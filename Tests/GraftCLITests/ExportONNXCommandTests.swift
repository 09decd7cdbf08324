import Foundation
import GraftTestSupport
import XCTest

/// `graft export --format onnx` end to end: the file, the summary line, folding, and refusals that
/// leave nothing behind.
final class ExportONNXCommandTests: CLITestCase {
    func testExportsAnONNXModelAndSaysWhatItTakes() throws {
        let folded = path("mini.onnx"), kept = path("mini_bn.onnx")
        let checkpoint = TestPaths.fixture("torch/resnet18_mini.pth")
        let run = try graft(["export", "--format", "onnx", "--size", "64", checkpoint, folded])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("ONNX opset 17"), run.stdout)
        XCTAssertTrue(run.stdout.contains("input 'input' [batch, 3, 64, 64]"), run.stdout)
        XCTAssertTrue(run.stdout.contains("output 'logits'"), run.stdout)
        XCTAssertTrue(run.stdout.contains("BatchNorm folded"), run.stdout)
        XCTAssertTrue(run.stdout.contains("input preprocessing: "), run.stdout)
        let keep = try graft(["export", "--format", "onnx", "--keep-batchnorm", "--size", "64", checkpoint, kept])
        XCTAssertEqual(keep.status, 0, keep.stderr)
        XCTAssertTrue(keep.stdout.contains("BatchNorm kept"), keep.stdout)
        let a = try Data(contentsOf: URL(fileURLWithPath: folded)), b = try Data(contentsOf: URL(fileURLWithPath: kept))
        XCTAssertGreaterThan(a.count, 1000)
        XCTAssertGreaterThan(b.count, a.count, "kept BatchNorm parameters make the file larger")
        // The default size is the preprocessing's crop (224 for torchvision's presets).
        let defaultSize = try graft(["export", "--format", "onnx", "--arch", "resnet", checkpoint, path("default.onnx")])
        XCTAssertEqual(defaultSize.status, 0, defaultSize.stderr)
        XCTAssertTrue(defaultSize.stdout.contains("[batch, 3, 224, 224]"), defaultSize.stdout)
    }

    func testPthStaysTheDefaultFormat() throws {
        let out = path("mini.pth")
        let run = try graft(["export", TestPaths.fixture("torch/resnet18_mini.pth"), out])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("tensors"), run.stdout)
        let onnxOnly = try graft(["export", "--size", "64", TestPaths.fixture("torch/resnet18_mini.pth"), path("x.pth")])
        XCTAssertNotEqual(onnxOnly.status, 0)
        XCTAssertTrue(onnxOnly.stderr.contains("--format onnx"), onnxOnly.stderr)
    }

    func testRefusalsExitTwoWithOneLineAndNoFile() throws {
        let out = path("out.onnx")
        let checkpoint = TestPaths.fixture("torch/resnet18_mini.pth")
        assertRefused(try graft(["export", "--format", "onnx", "--arch", "resnet9000", checkpoint, out]),
                      naming: ["resnet18_mini.pth", "resnet9000"])
        // A file of tensors that is no network at all.
        assertRefused(try graft(["export", "--format", "onnx", TestPaths.fixture("torch/dtypes.pth"), out]),
                      naming: ["dtypes.pth"])
        assertRefused(try graft(["export", "--format", "onnx", "--size", "4", checkpoint, out]), naming: ["input size 4"])
        // Too small for the network's kernels: a shape error, not a broken graph.
        assertRefused(try graft(["export", "--format", "onnx", "--size", "8", "--arch", "vgg", TestPaths.fixture("torch/vgg11_mini.pth"), out]),
                      naming: ["vgg11_mini.pth", "ONNX export", "max pooling"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }
}
