import Foundation
import GraftCore
import GraftSafetensors
import GraftStore
import GraftTestSupport
import XCTest

/// `graft inspect / convert / export` end to end.
final class ImportCommandTests: CLITestCase {
    func testHelpListsEveryCommand() throws {
        let r = try graft(["--help"])
        XCTAssertEqual(r.status, 0)
        for c in ["inspect", "convert", "export", "verify", "predict", "preprocess", "bench", "finetune", "features", "summary"] {
            XCTAssertTrue(r.stdout.contains(c), c)
        }
    }

    func testInspectTableAndJSON() throws {
        let file = TestPaths.fixture("torch/wrapped.pth")
        let table = try graft(["inspect", file])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("PyTorch zip checkpoint"))
        XCTAssertTrue(table.stdout.contains("unwrapped the 'state_dict' entry"))
        XCTAssertTrue(table.stdout.contains("stripped the 'module.' prefix"))
        XCTAssertTrue(table.stdout.contains("conv1.weight"))
        let json = try graft(["inspect", "--json", file])
        XCTAssertEqual(json.status, 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["totalTensors"] as? Int, 74)
        XCTAssertEqual(object?["format"] as? String, "torch-zip")
    }

    func testConvertThenExportRoundTrips() throws {
        let st = path("mini.safetensors"), pth = path("mini.pth")
        let c = try graft(["convert", TestPaths.fixture("torch/resnet18_mini_legacy.pth"), st, "--arch", "resnet18",
                           "--weights", "IMAGENET1K_V1", "--dtype", "float32"])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.hasPrefix("converted "), c.stdout)
        let i = try graft(["inspect", st])
        XCTAssertTrue(i.stdout.contains("arch:    resnet18"), i.stdout)
        let e = try graft(["export", st, pth])
        XCTAssertEqual(e.status, 0, e.stderr)
        let back = try graft(["inspect", "--json", pth])
        XCTAssertEqual(back.status, 0, back.stderr)
        XCTAssertTrue(back.stdout.contains("\"totalTensors\" : 86"))
    }

    func testHostileInputsExitTwoWithOneLineAndNoOutput() throws {
        let out = path("out.safetensors")
        assertRefused(try graft(["convert", TestPaths.fixture("torch/evil_reduce.pth"), out]), naming: ["evil_reduce.pth", "posix.system"])
        assertRefused(try graft(["convert", TestPaths.fixture("torch/scripted.pt"), out]), naming: ["scripted.pt", "TorchScript"])
        assertRefused(try graft(["convert", TestPaths.fixture("torch/namespace_args.pth"), out]), naming: ["argparse.Namespace"])
        assertRefused(try graft(["inspect", "/dev/zero"]), naming: ["/dev/zero", "not a regular file"])
        assertRefused(try graft(["inspect", TestPaths.fixture("keras/hostile/soft_link_layer.h5")]), naming: ["soft_link_layer.h5"])
        let truncated = path("truncated.pth")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("torch/resnet18_mini.pth")))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        assertRefused(try graft(["convert", truncated, out]), naming: ["truncated.pth"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["truncated.pth"])
    }

    func testHashMismatchInTheNameWarnsButConverts() throws {
        let r = try graft(["convert", TestPaths.fixture("torch/resnet18_mini-deadbeef.pth"), path("x.safetensors")])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("warning") && r.stderr.contains("deadbeef"), r.stderr)
    }
}

/// Issue 16: `inspect` reads the data by default, so a file whose tensor bytes fail their own checks
/// is reported; `--fast` skips that and says so. A failed convert claims to have recorded nothing.
final class IntegrityCommandTests: CLITestCase {
    func testInspectChecksTheDataUnlessFast() throws {
        var bytes = try TestPaths.fixtureBytes("torch/resnet18_mini.pth")
        bytes[bytes.count / 2] ^= 0xFF  // inside a tensor record: its CRC no longer matches
        let file = path("corrupt.pth")
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let checked = try graft(["inspect", file])
        XCTAssertEqual(checked.status, 2)
        XCTAssertTrue(checked.stderr.contains("CRC mismatch"), checked.stderr)
        let fast = try graft(["inspect", "--fast", file])
        XCTAssertEqual(fast.status, 0, fast.stderr)
        XCTAssertTrue(fast.stdout.contains("not read (--fast"), fast.stdout)
        let json = try graft(["inspect", "--json", TestPaths.fixture("torch/resnet18_mini.pth")])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["integrity"] as? String, "checked")
        let out = path("out.safetensors")
        let convert = try graft(["convert", file, out])
        XCTAssertEqual(convert.status, 2)
        XCTAssertFalse(convert.stdout.contains("recorded"), convert.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: (out as NSString).deletingLastPathComponent)
            .filter { $0.hasPrefix(".") }, [], "no temporary file left beside the output")
    }

    /// `--fast` on a Keras file: libhdf5's reader process hands back names and shapes without reading
    /// the data, so a kernel whose stored bytes fail their fletcher32 checksum is listed, while the full
    /// check reads it and refuses; on a good file both list the same tensors.
    func testInspectFastOnKerasReadsNoData() throws {
        let corrupt = TestPaths.fixture("keras/hostile/fletcher32_corrupt.h5")
        let checked = try graft(["inspect", corrupt])
        XCTAssertEqual(checked.status, 2)
        XCTAssertTrue(checked.stderr.contains("fletcher32_corrupt.h5") && checked.stderr.split(separator: "\n").count == 1,
                      checked.stderr)
        let fast = try graft(["inspect", "--fast", corrupt])
        XCTAssertEqual(fast.status, 0, fast.stderr)
        XCTAssertTrue(fast.stdout.contains("dense/kernel"), fast.stdout)
        XCTAssertTrue(fast.stdout.contains("not read (--fast"), fast.stdout)
        XCTAssertTrue(fast.stdout.contains("sha256:  not computed (--fast)"), fast.stdout)
        func tensors(_ arguments: [String]) throws -> NSArray? {
            let r = try graft(arguments)
            XCTAssertEqual(r.status, 0, r.stderr)
            let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            return object?["tensors"] as? NSArray
        }
        let file = TestPaths.fixture("keras/resnet_mini.h5")
        let full = try XCTUnwrap(try tensors(["inspect", "--json", file]))
        XCTAssertGreaterThan(full.count, 10)
        XCTAssertEqual(try tensors(["inspect", "--json", "--fast", file]), full)
    }

    /// A 4,000-character key (the safetensors writer caps names at 4096 bytes; torch files carry longer)
    /// is quoted with a bounded prefix, and the error stays one short line.
    func testAHugeKeyIsQuotedWithABoundedPrefix() throws {
        let source = try WeightStore.open(TestPaths.fixture("torch/resnet18_mini.pth"))
        var entries = source.entries.map { (name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape) }
        let count = entries.count
        entries.append((String(repeating: "k", count: 4_000) + "\u{1b}[31m", .float32, [1]))
        let file = path("huge-key.safetensors")
        try SafetensorsWriter.write(to: file, entries: entries, metadata: []) { i in
            i < count ? try source.entries[i].tensor.load().data : ByteBuffer([UInt8](repeating: 0, count: 4))
        }
        let r = try graft(["verify", "--arch", "resnet", "--checkpoint", file, "--input", TestPaths.fixture("models/input_2x3x64x64.npy"),
                           "--reference", TestPaths.fixture("models/resnet18_mini_logits.npy")])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("unused key 'kkkk"), String(r.stderr.prefix(300)))
        XCTAssertLessThan(r.stderr.count, 2_000)
        XCTAssertFalse(r.stderr.contains("\u{1b}"), "no raw escape sequence reaches the terminal")
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
    }
}
