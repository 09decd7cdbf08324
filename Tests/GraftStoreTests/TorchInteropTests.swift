import Foundation
import GraftStore
import GraftTestSupport
import XCTest

/// `tools/check_torch_interop.py` had torch (`torch.load(weights_only=True)`) and
/// `safetensors.torch.load_file` read Graft's export and convert outputs of every fixture and found
/// exactly the tensors torch saved; it recorded those files' sha256. Graft must still write the same
/// bytes, so what PyTorch verified is what Graft produces.
final class TorchInteropTests: XCTestCase {
    struct Check: Decodable {
        struct File: Decodable { let export: String; let export_sha256: String; let convert: String; let convert_sha256: String }
        let files: [String: File]
    }

    func testOutputsAreTheBytesPyTorchVerified() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("torch/interop_check.json")))
        let check = try JSONDecoder().decode(Check.self, from: data)
        XCTAssertGreaterThanOrEqual(check.files.count, 20)
        let dir = TestPaths.temporaryDirectory("graft-interop")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, want) in check.files.sorted(by: { $0.key < $1.key }) {
            var options = StoreOpenOptions()
            options.torch.allowMissingCRC = name == "crc_disabled.pth"
            let store = try WeightStore.open(TestPaths.fixture("torch/\(name)"), options: options)
            let exported = dir.appendingPathComponent(want.export).path
            let converted = dir.appendingPathComponent(want.convert).path
            try store.exportTorch(to: exported)
            try store.writeSafetensors(to: converted)
            for (path, sha) in [(exported, want.export_sha256), (converted, want.convert_sha256)] {
                let file = try Data(contentsOf: URL(fileURLWithPath: path))
                XCTAssertEqual(file.withUnsafeBytes { sha256Hex($0) }, sha, "\(name): \(path)")
            }
        }
    }
}
