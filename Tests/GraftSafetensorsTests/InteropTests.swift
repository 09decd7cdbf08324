import Foundation
import GraftCore
import GraftSafetensors
import GraftTestSupport
import XCTest

/// Interoperability with the reference implementation, both ways.
///
/// Python → Graft: files written by `safetensors.torch.save_file` and `safetensors.numpy.save_file`
/// (tools/make_safetensors_fixtures.py) are read and every tensor's bytes are checked against the
/// sha256 Python recorded; Graft's writer reproduces those files byte for byte.
///
/// Graft → Python: a fixed store written by Graft is compared with the committed
/// `graft_written.safetensors`, and what `safetensors.numpy` / `safetensors.torch` read from that
/// file (tools/check_safetensors_interop.py → `graft_written.python.json`) must match what Graft
/// wrote. To regenerate both after a deliberate format change:
///
///     GRAFT_WRITE_FIXTURES=1 swift test --filter GraftSafetensorsTests.InteropTests
///     /work/main/.venv/bin/python tools/check_safetensors_interop.py
final class InteropTests: XCTestCase {
    private struct ManifestFile: Decodable {
        var writer: String
        var metadata: [String: String]
        var names_in_file_order: [String]
        var file_sha256: String
        var tensors: [String: ManifestTensor]
    }

    private struct ManifestTensor: Decodable {
        var dtype: String
        var shape: [Int]
        var sha256: String
    }

    private func data(_ fixture: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("safetensors/\(fixture)")))
    }

    private func manifest() throws -> [String: ManifestFile] {
        try JSONDecoder().decode([String: ManifestFile].self, from: data("fixtures.json"))
    }

    // MARK: Python → Graft

    func testPythonWrittenFilesReadWithEveryHashMatching() throws {
        let files = try manifest()
        XCTAssertEqual(Set(files.keys), ["torch_all_dtypes.safetensors", "numpy_dtypes.safetensors"])
        var dtypesSeen = Set<DType>()
        for (name, expected) in files {
            XCTAssertEqual(
                sha256Hex(Array(try data(name))), expected.file_sha256, "\(name) changed since fixtures.json")
            let file = try SafetensorsFile(path: TestPaths.fixture("safetensors/\(name)"))
            XCTAssertEqual(file.names, expected.names_in_file_order, name)
            XCTAssertEqual(file.metadata, expected.metadata, name)
            XCTAssertEqual(file.header.metadata.count, expected.metadata.count)
            XCTAssertEqual(file.names.count, expected.tensors.count)
            for (tensorName, info) in expected.tensors {
                let tensor = try file.tensor(named: tensorName)
                XCTAssertEqual(tensor.dtype.safetensorsName, info.dtype, "\(name): \(tensorName)")
                XCTAssertEqual(tensor.shape, info.shape, "\(name): \(tensorName)")
                XCTAssertEqual(sha256Hex(tensor.data.bytes), info.sha256, "\(name): \(tensorName)")
                dtypesSeen.insert(tensor.dtype)
            }
        }
        XCTAssertEqual(dtypesSeen, Set(DType.allCases), "the fixtures cover every dtype")
    }

    func testPythonWrittenValuesDecode() throws {
        let torch = try SafetensorsFile(path: TestPaths.fixture("safetensors/torch_all_dtypes.safetensors"))
        let i64 = try torch.tensor(named: "i64").data.bytes
        XCTAssertEqual(
            (0..<5).map { Int64(littleEndian: i64.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) },
            [Int64.min, -1, 0, 1, Int64.max])
        let special = try torch.tensor(named: "f32.special").floatValues()
        XCTAssertEqual(special[0].bitPattern, 0)
        XCTAssertEqual(special[1].bitPattern, 0x8000_0000)
        XCTAssertEqual(Array(special[2...3]), [.infinity, -.infinity])
        XCTAssertTrue(special[4].isNaN)
        XCTAssertEqual(Array(special[5...7]), [.leastNonzeroMagnitude, .greatestFiniteMagnitude, 1.5])
        XCTAssertEqual(
            try torch.tensor(named: "f16").floatValues(), [1, -2.5, 65504, 5.9604645e-08, 0, 0, .infinity])
        XCTAssertEqual(try torch.tensor(named: "mask").data.array, [1, 0, 1, 0, 0, 1])
        XCTAssertEqual(try torch.tensor(named: "scalar").floatValues(), [3.5])
        XCTAssertEqual(
            try torch.tensor(named: "bn.num_batches_tracked").data.array,
            SafetensorsBytes.littleEndian([Int64(123_456_789)]))
        XCTAssertEqual(try torch.tensor(named: "empty.i16").shape, [2, 0, 5])

        let numpy = try SafetensorsFile(path: TestPaths.fixture("safetensors/numpy_dtypes.safetensors"))
        XCTAssertEqual(try numpy.tensor(named: "ñame/with \"quotes\" & ünïcödé").floatValues(), [1.25])
        XCTAssertEqual(numpy.metadata["unicode"], "héllo wörld 😀 \u{1}")
        XCTAssertEqual(try numpy.tensor(named: "one").shape, [])
    }

    func testGraftRewritesPythonFilesByteForByte() throws {
        // Same tensors, same order, same metadata order → the reference writer's exact bytes.
        for name in ["torch_all_dtypes.safetensors", "numpy_dtypes.safetensors"] {
            let file = try SafetensorsFile(path: TestPaths.fixture("safetensors/\(name)"))
            let tensors = try file.names.map { (name: $0, tensor: try file.tensor(named: $0)) }
            XCTAssertEqual(
                try Safetensors.encode(tensors: tensors, metadata: file.header.metadata),
                Array(try data(name)), name)
        }
    }

    // MARK: Graft → Python

    /// A fixed store: every dtype, edge values, an empty and a 0-rank tensor, metadata that needs
    /// escapes. Given in the reference writer's order (item size descending, then name).
    static func graftWrittenTensors() throws -> [(name: String, tensor: RawTensor)] {
        typealias B = SafetensorsBytes
        return [
            ("i64", try .make(.int64, [3], B.littleEndian([Int64.min, -1, Int64.max]))),
            (
                "f64",
                try .make(.float64, [2], B.littleEndian([Double.pi.bitPattern, (-0.0 as Double).bitPattern]))
            ),
            ("f32.empty", try .make(.float32, [0, 4], [])),
            ("f32.scalar", try .make(.float32, [], B.float32([2.5]))),
            (
                "f32.weight",
                try .make(.float32, [2, 3], B.float32([1, -1, 0.5, .infinity, -.infinity, .nan]))
            ),
            ("i32", try .make(.int32, [2], B.littleEndian([Int32.min, 123_456]))),
            ("bf16", try .make(.bfloat16, [4], B.littleEndian([UInt16(0x3F80), 0xC000, 0x7F80, 0x0001]))),
            ("f16", try .make(.float16, [3], B.littleEndian([UInt16(0x3C00), 0x7BFF, 0x8001]))),
            ("i16", try .make(.int16, [2, 2], B.littleEndian([Int16.min, -1, 0, Int16.max]))),
            ("i8", try .make(.int8, [4], B.littleEndian([Int8.min, -1, 0, Int8.max]))),
            ("u8", try .make(.uint8, [5], [0, 1, 127, 128, 255])),
            ("bool", try .make(.bool, [2, 2], [1, 0, 0, 1])),
        ]
    }

    static let graftWrittenMetadata: [(key: String, value: String)] = [
        ("format", "pt"), ("graft.note", "línea 1\n\"quoted\" \\ 😀 \u{1}"),
    ]

    func testGraftWrittenStoreMatchesTheCommittedFile() throws {
        let committed = TestPaths.fixture("safetensors/graft_written.safetensors")
        if ProcessInfo.processInfo.environment["GRAFT_WRITE_FIXTURES"] == "1" {
            try SafetensorsWriter.write(
                to: committed, tensors: Self.graftWrittenTensors(), metadata: Self.graftWrittenMetadata)
            throw XCTSkip("wrote \(committed); now run tools/check_safetensors_interop.py")
        }
        let folder = TestPaths.temporaryDirectory("safetensors-interop")
        defer { try? FileManager.default.removeItem(at: folder) }
        let fresh = folder.appendingPathComponent("graft_written.safetensors").path
        try SafetensorsWriter.write(
            to: fresh, tensors: Self.graftWrittenTensors(), metadata: Self.graftWrittenMetadata)
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: fresh)), try data("graft_written.safetensors"))
    }

    private struct PythonReport: Decodable {
        struct Tensor: Decodable {
            var dtype: String
            var shape: [Int]
            var sha256: String
        }
        struct Resave: Decodable {
            var same_header_length: Bool
            var same_header_json: Bool
            var same_tensor_order: Bool
            var same_data_section: Bool
        }
        var file_sha256: String
        var metadata: [String: String]
        var torch: [String: Tensor]
        var numpy: [String: Tensor]
        var numpy_unreadable: [String: String]
        var reference_writer_reproduces: Resave
    }

    func testPythonReadsWhatGraftWrote() throws {
        let report = try JSONDecoder().decode(PythonReport.self, from: data("graft_written.python.json"))
        XCTAssertEqual(
            report.file_sha256, sha256Hex(Array(try data("graft_written.safetensors"))),
            "graft_written.python.json is stale: rerun tools/check_safetensors_interop.py")
        XCTAssertEqual(
            report.metadata,
            Dictionary(uniqueKeysWithValues: Self.graftWrittenMetadata.map { ($0.key, $0.value) }))
        let tensors = try Self.graftWrittenTensors()
        XCTAssertEqual(report.torch.count, tensors.count)
        for (name, tensor) in tensors {
            let hash = sha256Hex(tensor.data.bytes)
            let torch = try XCTUnwrap(report.torch[name], name)
            XCTAssertEqual(torch.dtype, tensor.dtype.torchDTypeName, name)
            XCTAssertEqual(torch.shape, tensor.shape, name)
            XCTAssertEqual(torch.sha256, hash, name)
            if tensor.dtype == .bfloat16 {
                // numpy has no bfloat16: safetensors.numpy refuses it, and nothing else.
                XCTAssertNil(report.numpy[name])
                continue
            }
            let numpy = try XCTUnwrap(report.numpy[name], name)
            XCTAssertEqual(numpy.dtype, tensor.dtype.torchDTypeName, name)
            XCTAssertEqual(numpy.shape, tensor.shape, name)
            XCTAssertEqual(numpy.sha256, hash, name)
        }
        XCTAssertEqual(Array(report.numpy_unreadable.keys), ["bf16"])
        let resave = report.reference_writer_reproduces
        XCTAssertTrue(
            resave.same_header_length && resave.same_header_json && resave.same_tensor_order
                && resave.same_data_section, "the reference writer lays the store out as Graft did")
    }
}
