import GraftCore
import GraftPickle
import GraftTorch
import XCTest

/// style_safety.md §2.3 C (tensor records vs storage), B4/B6/B15/B16 and A17–A19 at the torch layer:
/// each yields its typed error before any byte is read, none traps, nothing is zero-filled.
final class HostileTensorTests: XCTestCase {
    typealias B = CheckpointBuilder

    func open(_ path: String) throws -> TorchCheckpoint { try TorchCheckpoint.open(path: path) }

    /// Opens and materializes every tensor.
    func load(_ path: String) throws -> [RawTensor] {
        guard case .dict(let items) = try open(path).root else { return [] }
        return try items.compactMap { if case .tensor(let t) = $0.value { return try t.load() } else { return nil } }
    }

    func assertError(_ path: String, _ expected: TorchError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(path), file: file, line: line) {
            XCTAssertEqual($0 as? TorchError, expected, file: file, line: line)
        }
    }

    func testValidViewsMaterialize() throws {
        // A 2×3 transpose of a 3×2 storage, and a zero-size view at a far offset (C12).
        let t = try load(try B.simple(shape: [2, 3], stride: [1, 2], numel: 6))
        XCTAssertEqual(t[0].floatValues(), [0, 2, 4, 1, 3, 5])
        XCTAssertEqual(try load(try B.simple(shape: [2, 0], stride: [0, 1], offset: 1000, numel: 4))[0].elementCount, 0)
        // Stride 0 (expand) reads one element repeatedly.
        XCTAssertEqual(try load(try B.simple(shape: [3], stride: [0], offset: 2, numel: 4))[0].floatValues(), [2, 2, 2])
    }

    /// `torch.zeros(1).expand(2**34)` is a 2 KB file declaring 64 GiB: a view may repeat its storage at
    /// most 16× (or reach 2^20 elements), so it is refused before anything is allocated.
    func testRepeatingViewsAreBounded() throws {
        let why = { (count: Int, storage: Int) in
            "a view of storage '0' (\(storage) elements) repeats it into \(count) elements, more than 16× (stride-0 or overlapping strides)"
        }
        assertError(try B.simple(shape: [1 << 34], stride: [0], numel: 1), .limitExceeded(why(1 << 34, 1)))
        assertError(try B.simple(shape: [1 << 28], stride: [0], numel: 1), .limitExceeded(why(1 << 28, 1)))
        assertError(try B.simple(shape: [1 << 12, 1 << 12], stride: [1, 1], numel: 1 << 13),
                    .limitExceeded(why(1 << 24, 1 << 13)))
        // A broadcast within the floor still reads.
        XCTAssertEqual(try load(try B.simple(shape: [4, 3], stride: [0, 1], numel: 3))[0].floatValues(), [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
    }

    /// Zero-element shapes whose other dimensions overflow are refused whatever the order.
    func testZeroElementShapesAreCheckedInEveryOrder() throws {
        for dims in [[0, 1 << 40, 1 << 40], [1 << 40, 1 << 40, 0]] {
            assertError(try B.simple(shape: dims, stride: [0, 0, 0], numel: 1), .overflow("shape \(dims)"))
        }
    }

    func testUnsupportedStoragesAndTensorKinds() throws {
        let complex = try B.write(pickle: .dict([PickleDictEntry(key: .string("c"), value: B.tensor(
            storage: B.storage("0", "ComplexFloatStorage", numel: .int(1)), size: B.ints([1]), stride: B.ints([1])))]),
            records: ["0": B.floats(2)])
        assertError(complex, .unsupportedDType("torch.ComplexFloatStorage"))
        let quantized = try B.write(pickle: .dict([PickleDictEntry(key: .string("q"), value:
            .call(module: "torch._utils", name: "_rebuild_qtensor", args: []))]), records: [:])
        assertError(quantized, .unsupportedTensorKind("torch._utils._rebuild_qtensor"))
    }

    func testShapeStrideOffsetChecks() throws {
        assertError(try B.simple(shape: [2, -1], stride: [1, 1], numel: 4), .invalidShape("negative dimension -1"))
        assertError(try B.simple(shape: [1 << 40, 1 << 40], stride: [1 << 40, 1], numel: 4), .overflow("shape [1099511627776, 1099511627776]"))
        assertError(try B.simple(shape: [2], stride: [-1], numel: 4), .invalidStride("negative stride -1"))
        assertError(try B.simple(shape: [2], stride: [1], offset: -2, numel: 4), .invalidOffset("-2"))
        assertError(try B.simple(shape: [3, 2], stride: [Int.max / 2 + 1, 1], numel: 4), .overflow("view extent of storage '0'"))
        assertError(try B.simple(shape: [2, 3], stride: [3, 1], numel: 5), .outOfBounds(storage: "0", required: 6, available: 5))
        assertError(try B.simple(shape: [3], stride: [1], offset: 2, numel: 4), .outOfBounds(storage: "0", required: 5, available: 4))
        assertError(try B.simple(shape: [2, 2], stride: [1], numel: 4), .malformedTensor("size has rank 2, stride has rank 1"))
        assertError(try B.simple(shape: Array(repeating: 1, count: 40), stride: Array(repeating: 1, count: 40), numel: 1),
                    .invalidShape("rank 40 > 32"))
    }

    func testStorageRecordsMustMatchTheirDeclaredSize() throws {
        assertError(try B.simple(shape: [4], stride: [1], numel: 4, recordFloats: 3),
                    .storageSizeMismatch(storage: "archive/data/0", declaredBytes: 16, actualBytes: 12))
        assertError(try B.simple(shape: [4], stride: [1], numel: 4, recordFloats: 5),
                    .storageSizeMismatch(storage: "archive/data/0", declaredBytes: 16, actualBytes: 20))
        // numel × itemsize overflows.
        assertError(try B.simple(shape: [1], stride: [1], numel: 0x4000_0000_0000_0001, recordFloats: 1),
                    .overflow("storage '0' size 4611686018427387905 × 4"))
    }

    func testMalformedRebuildCallsAndPersistentIDs() throws {
        func one(_ value: PickleValue, records: [String: [UInt8]] = ["0": B.floats(4)]) throws -> String {
            try B.write(pickle: .dict([PickleDictEntry(key: .string("t"), value: value)]), records: records)
        }
        let storage = B.storage("0", numel: .int(4))
        assertError(try one(.call(module: "torch._utils", name: "_rebuild_tensor_v2", args: [storage, .int(0)])),
                    .malformedTensor("expected (storage, offset, size, stride, …), got 2 arguments"))
        assertError(try one(B.tensor(storage: storage, size: .string("4"), stride: B.ints([1]))),
                    .malformedTensor("size is str, not a tuple"))
        assertError(try one(B.tensor(storage: storage, size: B.ints([4]), stride: .tuple([.float(1)]))),
                    .malformedTensor("stride holds float"))
        assertError(try one(B.tensor(storage: storage, size: .tuple([.bigInt([0, 0, 0, 0, 0, 0, 0, 0, 1])]), stride: B.ints([1]))),
                    .overflow("size value beyond 64 bits"))
        assertError(try one(B.tensor(storage: .persistentID(.string("0")), size: B.ints([4]), stride: B.ints([1]))),
                    .invalidPersistentID("expected ('storage', type, key, location, numel), got str"))
        assertError(try one(B.tensor(storage: B.storage("../0", numel: .int(4)), size: B.ints([4]), stride: B.ints([1]))),
                    .invalidPersistentID("storage key str"))
        assertError(try one(B.tensor(storage: B.storage("0", numel: .int(-1)), size: B.ints([4]), stride: B.ints([1]))),
                    .invalidPersistentID("storage '0' size int"))
    }

    func testOneStorageWithTwoDTypesIsRefused() throws {
        let a = B.tensor(storage: B.storage("0", numel: .int(4)), size: B.ints([4]), stride: B.ints([1]))
        let b = B.tensor(storage: B.storage("0", "IntStorage", numel: .int(4)), size: B.ints([4]), stride: B.ints([1]))
        let path = try B.write(pickle: .dict([PickleDictEntry(key: .string("a"), value: a), PickleDictEntry(key: .string("b"), value: b)]),
                               records: ["0": B.floats(4)])
        XCTAssertThrowsError(try open(path)) { error in
            guard case .inconsistentStorage = error as? TorchError else { return XCTFail("\(error)") }
        }
    }

    func testArchiveStructure() throws {
        let good = B.tensor(storage: B.storage("0", numel: .int(4)), size: B.ints([4]), stride: B.ints([1]))
        let sd = PickleValue.dict([PickleDictEntry(key: .string("t"), value: good)])
        // A17: a second top-level folder.
        XCTAssertThrowsError(try open(try B.write(pickle: sd, records: ["0": B.floats(4)], extra: [("other/x", [1])]))) {
            XCTAssertEqual($0 as? TorchError, .ambiguousArchive(["archive", "other"]))
        }
        // A18: no data.pkl; a referenced record that is absent.
        XCTAssertThrowsError(try open(try B.write(pickle: sd, records: ["0": B.floats(4)], omitPickle: true))) {
            XCTAssertEqual($0 as? TorchError, .missingRecord("archive/data.pkl"))
        }
        XCTAssertThrowsError(try open(try B.write(pickle: sd, records: [:]))) {
            XCTAssertEqual($0 as? TorchError, .missingRecord("archive/data/0"))
        }
        // A19: an unreferenced record is reported, not silently ignored.
        let extra = try open(try B.write(pickle: sd, records: ["0": B.floats(4), "99": B.floats(1)]))
        XCTAssertTrue(extra.notes.contains { $0.contains("not referenced") }, "\(extra.notes)")
        // Bytes after the pickle's STOP.
        let trailing = try PickleWriter().encode(sd) + [0x4E]
        XCTAssertThrowsError(try open(try B.write(pickle: sd, records: ["0": B.floats(4)], rawPickle: trailing))) {
            XCTAssertEqual($0 as? TorchError, .trailingData(record: "archive/data.pkl", bytes: 1))
        }
        // C16: a byteorder that is neither little nor big.
        XCTAssertThrowsError(try open(try B.write(pickle: sd, records: ["0": B.floats(4)], extra: [("archive/byteorder", Array("middle".utf8))]))) {
            XCTAssertEqual($0 as? TorchError, .unsupportedByteOrder("middle"))
        }
        // A TorchScript marker.
        XCTAssertThrowsError(try open(try B.write(pickle: sd, records: ["0": B.floats(4)], extra: [("archive/constants.pkl", [0x80, 2, 0x4E, 0x2E])]))) {
            XCTAssertEqual($0 as? TorchError, .torchScript)
        }
    }

    func testNotACheckpoint() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("graft-notckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, bytes) in [("empty", [UInt8]()), ("three", [1, 2, 3]), ("text", Array("hello world".utf8))] {
            let path = dir.appendingPathComponent(name).path
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            XCTAssertThrowsError(try open(path), name) { error in
                guard case .unknownFormat = error as? TorchError else { return XCTFail("\(name): \(error)") }
            }
        }
    }
}
