import Foundation
import GraftCore
import GraftSafetensors
import GraftTestSupport
import XCTest

/// The encoder and the atomic writer: reference spelling, layout, alignment, round trips (D15),
/// refusals, and no half-written output.
final class WriterTests: XCTestCase {
    private var folder: URL!

    override func setUp() {
        folder = TestPaths.temporaryDirectory("safetensors-writer")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    private func folderContents() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
    }

    func testHeaderSpellingMatchesTheReferenceWriter() throws {
        // Bytes safetensors 0.8 `safetensors.torch.save` wrote for the same tensors and metadata
        // (its layout: item size descending, then name; ours keeps the given order within a size).
        let reference =
            #"{"__metadata__":{"k":"v\u0001/é\t"},"z":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"#
            + #""c":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]},"a":{"dtype":"BF16","shape":[2],"#
            + #""data_offsets":[8,12]},"b":{"dtype":"F16","shape":[3],"data_offsets":[12,18]},"q\n\"é":"#
            + #"{"dtype":"I8","shape":[1],"data_offsets":[18,19]},"#
            + #""s":{"dtype":"BOOL","shape":[],"data_offsets":[19,20]}}"#
            + "      "
        let (header, ranges) = try Safetensors.encodeHeader(
            entries: [
                ("z", .float64, [1]), ("c", .float32, [0, 3]), ("a", .bfloat16, [2]), ("b", .float16, [3]),
                ("q\n\"é", .int8, [1]), ("s", .bool, []),
            ],
            metadata: [("k", "v\u{1}/é\t")])
        XCTAssertEqual(header, SafetensorsBytes.file(header: reference))
        XCTAssertEqual(header.count, 8 + 376)
        XCTAssertEqual(ranges, [0..<8, 8..<8, 8..<12, 12..<18, 18..<19, 19..<20])
    }

    func testEmptyStoreAndNoMetadataObject() throws {
        let (header, ranges) = try Safetensors.encodeHeader(entries: [], metadata: [])
        XCTAssertEqual(header, SafetensorsBytes.file(header: "{}      "))
        XCTAssertTrue(ranges.isEmpty)
        XCTAssertEqual(try Safetensors.parse(header).entries.count, 0)
    }

    func testLayoutOrderIsItemSizeDescendingAndStable() {
        let dtypes: [DType] = [.uint8, .float32, .bool, .float16, .float64, .int32, .bfloat16, .int64, .int8]
        XCTAssertEqual(Safetensors.layoutOrder(of: dtypes), [4, 7, 1, 5, 3, 6, 0, 2, 8])
        XCTAssertEqual(Safetensors.layoutOrder(of: []), [])
    }

    func testRandomTensorSetsRoundTripAlignedAndDeterministic() throws {
        // D15: random sets, including empty tensors, 0-rank scalars and every dtype.
        var random = SeededBytes(seed: 0x5AFE_7E45)
        for round in 0..<150 {
            var tensors: [(name: String, tensor: RawTensor)] = []
            for i in 0..<random.below(9) {
                let dtype = DType.allCases[random.below(DType.allCases.count)]
                let shape = (0..<random.below(5)).map { _ in random.below(4) }
                let count = (Checked.byteCount(shape, itemSize: dtype.itemSize) ?? 0)
                tensors.append(("r\(round).t\(i).\(dtype)", try .make(dtype, shape, random.bytes(count))))
            }
            let metadata =
                random.below(2) == 0 ? [] : [(key: "round", value: "\(round)"), (key: "é\"", value: "\n")]
            let bytes = try Safetensors.encode(tensors: tensors, metadata: metadata)
            XCTAssertEqual(
                bytes, try Safetensors.encode(tensors: tensors, metadata: metadata), "deterministic")

            let header = try Safetensors.parse(bytes)
            XCTAssertEqual(header.dataStart % 8, 0)
            XCTAssertEqual(header.metadata.map(\.key), metadata.map(\.key))
            XCTAssertEqual(header.metadata.map(\.value), metadata.map(\.value))
            XCTAssertEqual(Set(header.entries.map(\.name)), Set(tensors.map(\.name)))
            for (name, tensor) in tensors {
                let entry = try XCTUnwrap(header.entry(named: name))
                XCTAssertEqual(entry.dtype, tensor.dtype)
                XCTAssertEqual(entry.shape, tensor.shape)
                let start = header.dataStart + entry.dataRange.lowerBound
                XCTAssertEqual(start % entry.dtype.itemSize, 0, "aligned")
                let range = start..<(start + entry.dataRange.count)
                XCTAssertEqual(Array(bytes[range]), tensor.data.array, name)
            }
        }
    }

    func testFileRoundTripThroughTheMappedReader() throws {
        let tensors: [(name: String, tensor: RawTensor)] = [
            ("w", try .make(.float32, [2, 2], SafetensorsBytes.float32([1, -2, 3.5, .infinity]))),
            ("n", try .make(.int64, [], SafetensorsBytes.littleEndian([Int64(-9)]))),
            ("m", try .make(.bool, [3], [1, 0, 1])),
        ]
        let target = path("store.safetensors")
        try SafetensorsWriter.write(to: target, tensors: tensors, metadata: [("format", "pt")])
        let file = try SafetensorsFile(path: target)
        XCTAssertEqual(file.names, ["n", "w", "m"])
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(try file.tensor(named: "w").floatValues(), [1, -2, 3.5, .infinity])
        XCTAssertEqual(try file.tensor(named: "n").data.array, SafetensorsBytes.littleEndian([Int64(-9)]))
        XCTAssertEqual(try file.tensor(named: "m").shape, [3])
        XCTAssertEqual(folderContents(), ["store.safetensors"], "no temporary file left")
        let encoded = try Safetensors.encode(tensors: tensors, metadata: [("format", "pt")])
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: target))), encoded)
    }

    func testDataCallbackIsCalledOncePerTensorInWriteOrder() throws {
        let entries: [(name: String, dtype: DType, shape: [Int])] = [
            ("a", .uint8, [2]), ("b", .float64, [1]), ("c", .int16, [1]),
        ]
        var calls: [Int] = []
        try SafetensorsWriter.write(to: path("s.safetensors"), entries: entries, metadata: []) { index in
            calls.append(index)
            let size = [2, 8, 2][index]
            return ByteBuffer([UInt8](repeating: UInt8(index), count: size))
        }
        XCTAssertEqual(calls, [1, 2, 0])
        XCTAssertEqual(
            try SafetensorsFile(path: path("s.safetensors")).tensor(named: "a").data.array, [0, 0])
    }

    func testEncoderRefusesWhatTheReaderWouldRefuse() {
        func refusal(
            _ entries: [(name: String, dtype: DType, shape: [Int])],
            metadata: [(key: String, value: String)] = [],
            limits: SafetensorsLimits = .default
        ) -> SafetensorsError? {
            do {
                _ = try Safetensors.encodeHeader(entries: entries, metadata: metadata, limits: limits)
                XCTFail("expected a refusal")
            } catch {
                return error as? SafetensorsError
            }
            return nil
        }
        XCTAssertEqual(refusal([("a", .uint8, [1]), ("a", .int8, [1])]), .duplicateTensorName("a"))
        XCTAssertEqual(refusal([("__metadata__", .uint8, [1])]), .reservedName("__metadata__"))
        XCTAssertEqual(refusal([("a", .uint8, [2, -1])]), .invalidShape(tensor: "a", shape: [2, -1]))
        XCTAssertEqual(refusal([("a", .float64, [1 << 61])]), .invalidShape(tensor: "a", shape: [1 << 61]))
        XCTAssertEqual(
            refusal([("a", .uint8, [1 << 62]), ("b", .uint8, [1 << 62])]),
            .invalidShape(tensor: "b", shape: [1 << 62]), "total size overflow")
        XCTAssertEqual(refusal([], metadata: [("k", "1"), ("k", "2")]), .duplicateMetadataKey("k"))
        XCTAssertEqual(
            refusal([("a", .uint8, [1, 1, 1])], limits: SafetensorsLimits(maxRank: 2)),
            .rankTooLarge(tensor: "a", limit: 2))
        XCTAssertEqual(
            refusal([("abc", .uint8, [1])], limits: SafetensorsLimits(maxNameLength: 2)),
            .nameTooLong(name: "abc", length: 3, limit: 2))
        XCTAssertEqual(
            refusal([("a", .uint8, [1]), ("b", .uint8, [1])], limits: SafetensorsLimits(maxTensors: 1)),
            .tooManyTensors(limit: 1))
        XCTAssertEqual(
            refusal([("a", .uint8, [1])], limits: SafetensorsLimits(maxHeaderBytes: 40)),
            .headerTooLarge(declared: 56, limit: 40))
    }

    func testFailedWritesLeaveNothingBehindAndKeepTheOldFile() throws {
        let target = path("model.safetensors")
        try SafetensorsWriter.write(
            to: target, tensors: [("old", try .make(.uint8, [1], [42]))], metadata: [])
        let before = try Data(contentsOf: URL(fileURLWithPath: target))

        // The data handed over is the wrong size: refused after the header was already written.
        XCTAssertThrowsError(
            try SafetensorsWriter.write(
                to: target, entries: [("w", .float32, [2])], metadata: [],
                data: { _ in ByteBuffer([1, 2, 3]) })
        ) { error in
            XCTAssertEqual(error as? SafetensorsError, .dataSizeMismatch(tensor: "w", expected: 8, actual: 3))
        }
        // The caller's own error passes through unchanged.
        struct SourceGone: Error, Equatable {}
        XCTAssertThrowsError(
            try SafetensorsWriter.write(
                to: target, entries: [("a", .uint8, [1]), ("b", .uint8, [1])], metadata: [],
                data: { index in
                    if index == 1 { throw SourceGone() }
                    return ByteBuffer([0])
                })
        ) { error in
            XCTAssertEqual(error as? SourceGone, SourceGone())
        }
        // An invalid entry is refused before any file is created.
        XCTAssertThrowsError(
            try SafetensorsWriter.write(
                to: target, entries: [("a", .uint8, [-1])], metadata: [], data: { _ in ByteBuffer([]) }))

        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), before)
        XCTAssertEqual(folderContents(), ["model.safetensors"])
    }

    func testWritingIntoAMissingFolderIsAFileError() {
        let target = folder.appendingPathComponent("absent/model.safetensors").path
        XCTAssertThrowsError(try SafetensorsWriter.write(to: target, tensors: [], metadata: [])) { error in
            guard case .file(.cannotOpen(let reported, _))? = error as? SafetensorsError else {
                return XCTFail("expected a file error, got \(error)")
            }
            XCTAssertEqual(reported, target)
        }
    }

    func testOverwritingAMappedStoreLeavesItsReadersIntact() throws {
        // Writers rename a new file into place rather than truncating (safetensors #764), so a
        // tensor viewed from the old mapping keeps its bytes.
        let target = path("live.safetensors")
        try SafetensorsWriter.write(
            to: target, tensors: [("w", try .make(.float32, [1], SafetensorsBytes.float32([7])))],
            metadata: [])
        let old = try SafetensorsFile(path: target)
        let view = try old.tensor(named: "w")
        try SafetensorsWriter.write(
            to: target, tensors: [("w", try .make(.float32, [1], SafetensorsBytes.float32([9])))],
            metadata: [])
        XCTAssertEqual(view.floatValues(), [7])
        XCTAssertEqual(try SafetensorsFile(path: target).tensor(named: "w").floatValues(), [9])
        // Rewriting a store from its own mapped tensors is safe for the same reason.
        try SafetensorsWriter.write(to: target, tensors: [("w", view)], metadata: [])
        XCTAssertEqual(try SafetensorsFile(path: target).tensor(named: "w").floatValues(), [7])
    }
}
