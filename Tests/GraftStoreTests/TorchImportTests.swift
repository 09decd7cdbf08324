import Foundation
import GraftCore
import GraftStore
import GraftTestSupport
import GraftTorch
import XCTest

/// Every loadable checkpoint of `Fixtures/torch/` imports to exactly the tensors torch recorded:
/// the same names after normalization, dtypes, shapes and sha256 of the bytes.
final class TorchImportTests: XCTestCase {
    var manifest: TorchManifest!

    override func setUpWithError() throws { manifest = try TorchManifest.load() }

    func open(_ name: String, allowMissingCRC: Bool = false) throws -> WeightStore {
        var options = StoreOpenOptions()
        options.torch.allowMissingCRC = allowMissingCRC
        return try WeightStore.open(TestPaths.fixture("torch/\(name)"), options: options)
    }

    func assertMatchesManifest(_ store: WeightStore, _ expected: TorchManifest.File, _ file: String) throws {
        let tensors = try XCTUnwrap(expected.tensors, file)
        XCTAssertEqual(store.entries.map(\.name), tensors.map(\.name), "\(file): names and order")
        for (entry, want) in zip(store.entries, tensors) {
            XCTAssertEqual(entry.tensor.dtype.rawValue, want.dtype, "\(file): \(want.name) dtype")
            XCTAssertEqual(entry.tensor.shape, want.shape, "\(file): \(want.name) shape")
            XCTAssertEqual(sha256Hex(try entry.tensor.load()), want.sha256, "\(file): \(want.name) bytes")
        }
    }

    func testEveryLoadableFixtureImportsExactly() throws {
        var checked = 0
        for (name, expected) in manifest.files.sorted(by: { $0.key < $1.key }) where expected.tensors != nil {
            let store = try open(name, allowMissingCRC: expected.crc32 == false)
            try assertMatchesManifest(store, expected, name)
            XCTAssertEqual(try store.sourceSHA256(), expected.sha256_file, name)
            XCTAssertEqual(store.format, expected.format == "legacy" ? .torchLegacy : .torchZip, name)
            let report = store.metadata.normalization ?? NormalizationReport()
            let want = try XCTUnwrap(expected.normalization)
            XCTAssertEqual(report.unwrapped, want.unwrapped, "\(name): unwrapped")
            XCTAssertEqual(report.strippedPrefixes, want.stripped_prefixes, "\(name): prefixes")
            XCTAssertEqual(report.dropped.map { String($0.prefix { $0 != ":" }) }, want.dropped, "\(name): dropped")
            if let prefix = expected.prefix {
                XCTAssertTrue(store.metadata.notes.contains("archive folder '\(prefix)'"), "\(name): prefix \(prefix)")
            }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 20)
    }

    func testRefusedFilesNameTheReasonAndRunNothing() throws {
        let canary = "/tmp/graft-canary-evil-reduce"
        try? FileManager.default.removeItem(atPath: canary)
        var refused = 0
        for (name, expected) in manifest.files where expected.expect_error != nil {
            XCTAssertThrowsError(try open(name), name) { error in
                let text = String(describing: error)
                switch expected.expect_error {
                case "torchscript": XCTAssertEqual(error as? TorchError, .torchScript, name)
                case "disallowed_global":
                    guard case .pickle(let record, _) = error as? TorchError else { return XCTFail("\(name): \(error)") }
                    XCTAssertTrue(record.hasSuffix("data.pkl"), name)
                    XCTAssertTrue(text.contains(expected.detail ?? "?"), "\(name): '\(text)' should name \(expected.detail ?? "")")
                default: XCTFail("unexpected expectation \(expected.expect_error ?? "")")
                }
            }
            refused += 1
        }
        XCTAssertEqual(refused, 4)
        XCTAssertFalse(FileManager.default.fileExists(atPath: canary), "the pickle's os.system payload ran")
    }

    func testMissingCRCsNeedConsent() throws {
        XCTAssertThrowsError(try open("crc_disabled.pth")) { error in
            XCTAssertTrue(String(describing: error).lowercased().contains("crc"), "\(error)")
        }
        XCTAssertNoThrow(try open("crc_disabled.pth", allowMissingCRC: true))
    }

    func testTorchvisionStyleHashInFileName() throws {
        let good = try XCTUnwrap(manifest.files.keys.first { $0.hasPrefix("resnet18_mini-") && $0 != "resnet18_mini-deadbeef.pth" })
        XCTAssertEqual(try open(good).warnings, [])
        let bad = try open("resnet18_mini-deadbeef.pth")
        XCTAssertEqual(bad.warnings.count, 1)
        XCTAssertTrue(bad.warnings[0].contains("deadbeef") && bad.warnings[0].contains("c7c6a762"), bad.warnings[0])
    }

    func testEMAIsReportedAndSelectable() throws {
        let plain = try open("ema.pth")
        XCTAssertEqual(plain.metadata.normalization?.alternatives, ["state_dict_ema"])
        var options = StoreOpenOptions()
        options.normalizer = StateDictNormalizer(preferEMA: true)
        let ema = try WeightStore.open(TestPaths.fixture("torch/ema.pth"), options: options)
        XCTAssertEqual(ema.metadata.normalization?.unwrapped, "state_dict_ema")
        let a = try plain.entries[0].tensor.load().floatValues(), b = try ema.entries[0].tensor.load().floatValues()
        XCTAssertNotEqual(a, b)
    }

    func testLegacyAndZipGiveIdenticalTensors() throws {
        let modern = try open("resnet18_mini.pth"), legacy = try open("resnet18_mini_legacy.pth")
        XCTAssertEqual(modern.entries.map(\.name), legacy.entries.map(\.name))
        for (a, b) in zip(modern.entries, legacy.entries) {
            XCTAssertEqual(try a.tensor.load().data.array, try b.tensor.load().data.array, a.name)
        }
    }
}
