import Foundation
import GraftCore
import GraftSafetensors
import GraftStore
import GraftTestSupport
import GraftTorch
import XCTest

/// convert → safetensors and export → torch zip keep every tensor bit for bit; outputs appear whole
/// or not at all.
final class ConvertExportTests: XCTestCase {
    var dir: URL!

    override func setUp() { dir = TestPaths.temporaryDirectory("graft-store") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func tensors(_ store: WeightStore) throws -> [(String, DType, [Int], [UInt8])] {
        try store.entries.map { ($0.name, $0.tensor.dtype, $0.tensor.shape, try $0.tensor.load().data.array) }
    }

    func assertSameTensors(_ a: WeightStore, _ b: WeightStore, sorted: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        var x = try tensors(a), y = try tensors(b)
        if sorted { x.sort { $0.0 < $1.0 }; y.sort { $0.0 < $1.0 } }
        XCTAssertEqual(x.map(\.0), y.map(\.0), file: file, line: line)
        for (p, q) in zip(x, y) {
            XCTAssertEqual(p.1, q.1, p.0, file: file, line: line)
            XCTAssertEqual(p.2, q.2, p.0, file: file, line: line)
            XCTAssertEqual(p.3, q.3, p.0, file: file, line: line)
        }
    }

    func testConvertAndExportRoundTripEveryFixture() throws {
        let manifest = try TorchManifest.load()
        for (name, expected) in manifest.files.sorted(by: { $0.key < $1.key }) where expected.tensors != nil {
            var options = StoreOpenOptions()
            options.torch.allowMissingCRC = expected.crc32 == false
            let source = try WeightStore.open(TestPaths.fixture("torch/\(name)"), options: options)
            let st = dir.appendingPathComponent("\(name).safetensors").path
            try source.writeSafetensors(to: st)
            let store = try WeightStore.open(st)
            XCTAssertEqual(store.format, .safetensors)
            // The writer orders tensors by alignment; compare by name.
            try assertSameTensors(source, store, sorted: true)
            XCTAssertEqual(store.metadata.sourceFile, name)
            XCTAssertEqual(store.metadata.sourceSHA256, expected.sha256_file)
            XCTAssertEqual(store.metadata.normalization, source.metadata.normalization)

            let pth = dir.appendingPathComponent("\(name)-export.pth").path
            try store.exportTorch(to: pth)
            let back = try WeightStore.open(pth)
            try assertSameTensors(store, back)
        }
    }

    /// The sha256 lands in the header's own field, even when the source file's name (written
    /// before it) spells that field's key and placeholder.
    func testSourceHashLandsInItsFieldWhateverTheFileName() throws {
        let manifest = try TorchManifest.load()
        let (name, expected) = try XCTUnwrap(manifest.files.sorted(by: { $0.key < $1.key }).first { $0.value.crc32 != false })
        let tricky = "source_sha256\":\"" + String(repeating: "0", count: 64) + ".pth"
        let copy = dir.appendingPathComponent(tricky).path
        try FileManager.default.copyItem(atPath: TestPaths.fixture("torch/\(name)"), toPath: copy)
        let st = dir.appendingPathComponent("tricky.safetensors").path
        try WeightStore.open(copy).writeSafetensors(to: st)
        let store = try WeightStore.open(st)
        XCTAssertEqual(store.metadata.sourceFile, tricky)
        XCTAssertEqual(store.metadata.sourceSHA256, expected.sha256_file)
    }

    /// A torchvision-style name's hash is checked while the tensors are copied: the written store
    /// records the mismatch note (with both values) or, when the hash matches, none, and its header
    /// keeps the length reserved before the data (it is rewritten in place, padded with spaces).
    func testNamedHashCheckIsRecordedInTheWrittenStore() throws {
        let manifest = try TorchManifest.load()
        for (file, mismatch) in [("resnet18_mini-deadbeef.pth", true), ("resnet18_mini-c7c6a762.pth", false)] {
            let source = try WeightStore.open(TestPaths.fixture("torch/\(file)"))
            let out = dir.appendingPathComponent(file + ".safetensors").path
            try source.writeSafetensors(to: out)
            XCTAssertEqual(source.warnings.count, mismatch ? 1 : 0, file)
            let written = try WeightStore.open(out)
            XCTAssertEqual(written.metadata.sourceSHA256, manifest.files[file]?.sha256_file, file)
            let notes = written.metadata.notes.filter { $0.contains("file name says sha256") }
            XCTAssertEqual(notes.count, mismatch ? 1 : 0, "\(file): \(written.metadata.notes)")
            if mismatch {
                XCTAssertTrue(notes[0].contains("deadbeef") && notes[0].contains("c7c6a762"), notes[0])
            }
            try assertSameTensors(source, written)
        }
    }

    /// An HDF5 file with a user block before its signature is detected as the HDF5 layer reads it.
    func testDetectsHDF5AfterAUserBlock() throws {
        XCTAssertEqual(try WeightStore.detectFormat(TestPaths.fixture("keras/hostile/user_block.h5")), .kerasH5)
    }

    func testFloat32PolicyWidensOnlyFloats() throws {
        let source = try WeightStore.open(TestPaths.fixture("torch/dtypes.pth"))
        let out = dir.appendingPathComponent("f32.safetensors").path
        let summary = try source.writeSafetensors(to: out, dtype: .float32)
        XCTAssertEqual(summary.converted, 3)  // float16, bfloat16, float64
        let store = try WeightStore.open(out)
        for entry in store.entries {
            let original = try XCTUnwrap(source.entry(named: entry.name)).tensor
            XCTAssertEqual(entry.tensor.dtype, original.dtype.isFloatingPoint ? .float32 : original.dtype, entry.name)
            XCTAssertEqual(try entry.tensor.load().floatValues(), try original.load().floatValues(), entry.name)
        }
    }

    func testOutputIsNeverTheInputAndNothingIsLeftOnError() throws {
        let copy = dir.appendingPathComponent("in.pth").path
        try FileManager.default.copyItem(atPath: TestPaths.fixture("torch/resnet18_mini.pth"), toPath: copy)
        let store = try WeightStore.open(copy)
        XCTAssertThrowsError(try store.writeSafetensors(to: copy)) { XCTAssertEqual($0 as? StoreError, .sameFile(copy)) }
        XCTAssertThrowsError(try store.writeSafetensors(to: dir.appendingPathComponent("missing/out.safetensors").path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["in.pth"])
    }

    /// The full-size torchvision checkpoints of ../shared/fixtures convert with every tensor's float32
    /// bytes equal to what torch recorded.
    func testSharedFullSizeCheckpointsConvertExactly() throws {
        guard let shared = TestPaths.sharedFixtures else { throw XCTSkip("../shared/fixtures is absent") }
        for (name, expected) in try SharedHashes.load().sorted(by: { $0.key < $1.key }) {
            let source = try WeightStore.open(shared.appendingPathComponent(name).path)
            let out = dir.appendingPathComponent("\(name).safetensors").path
            try source.writeSafetensors(to: out)
            let store = try WeightStore.open(out)
            XCTAssertEqual(store.metadata.sourceSHA256, expected.sha256_file, name)
            let byName = Dictionary(uniqueKeysWithValues: store.entries.map { ($0.name, $0.tensor) })
            XCTAssertEqual(source.entries.map(\.name), expected.tensors.map(\.name), name)
            for want in expected.tensors {
                let t = try XCTUnwrap(byName[want.name], want.name).load()
                XCTAssertEqual(t.shape, want.shape, want.name)
                XCTAssertEqual(sha256Hex(t.convertedToFloat32()), want.sha256_f32, "\(name): \(want.name)")
            }
        }
    }
}
