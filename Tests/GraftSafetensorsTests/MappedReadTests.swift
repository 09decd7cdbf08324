import Foundation
import GraftCore
import GraftSafetensors
import GraftTestSupport
import XCTest

/// `SafetensorsFile`: zero-copy views for aligned data, aligned copies for misaligned data, and
/// refusals of files that are not regular or not valid.
final class MappedReadTests: XCTestCase {
    typealias B = SafetensorsBytes
    private var folder: URL!

    override func setUp() {
        folder = TestPaths.temporaryDirectory("safetensors-mapped")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    private func save(_ bytes: [UInt8], as name: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private func lies(_ buffer: ByteBuffer, inside region: UnsafeRawBufferPointer) -> Bool {
        guard let start = region.baseAddress else { return false }
        return buffer.base >= start && buffer.base + buffer.count <= start + region.count
    }

    func testAlignedTensorsAreViewsIntoTheMapping() throws {
        let tensors: [(name: String, tensor: RawTensor)] = [
            ("b", try .make(.bfloat16, [3], [0x80, 0x3F, 0x00, 0xC0, 0x80, 0x7F])),
            (
                "d",
                try .make(.float64, [2], B.littleEndian([Double(1.5).bitPattern, Double(-0.25).bitPattern]))
            ),
            ("f", try .make(.float32, [1, 2], B.float32([3, 4]))),
            ("u", try .make(.uint8, [3], [1, 2, 3])),
        ]
        let target = folder.appendingPathComponent("aligned.safetensors").path
        try SafetensorsWriter.write(to: target, tensors: tensors, metadata: [])
        let file = try SafetensorsFile(path: target)
        for (name, original) in tensors {
            let read = try file.tensor(named: name)
            XCTAssertTrue(lies(read.data, inside: file.mappedBytes), "\(name) should alias the mapping")
            XCTAssertEqual(read.dtype, original.dtype)
            XCTAssertEqual(read.shape, original.shape)
            XCTAssertEqual(read.data.array, original.data.array)
        }
        XCTAssertEqual(try file.tensor(named: "b").floatValues(), [1, -2, .infinity])
        XCTAssertEqual(try file.tensor(named: "d").floatValues(), [1.5, -0.25])
    }

    func testMisalignedDataIsCopiedIntoAnAlignedBuffer() throws {
        // As an unpadding writer would: the header is padded so that the data section starts at
        // an offset ≡ 7 (mod 8), misaligning the F64 and F32 tensors in any mapping (mappings
        // start on a page boundary).
        let header = B.header([
            B.entry("d", "F64", [1], 0, 8), B.entry("f", "F32", [2], 8, 16), B.entry("u", "U8", [1], 16, 17),
        ])
        let padded = header + String(repeating: " ", count: (15 - (8 + header.utf8.count) % 8) % 8)
        let data =
            B.littleEndian([Double(-3.25).bitPattern]) + B.float32([0.5, Float.leastNonzeroMagnitude]) + [200]
        let file = try SafetensorsFile(
            path: try save(B.file(header: padded, data: data), as: "misaligned.safetensors"))
        XCTAssertEqual(file.header.dataStart % 8, 7)

        for (name, itemSize) in [("d", 8), ("f", 4)] {
            let tensor = try file.tensor(named: name)
            XCTAssertFalse(lies(tensor.data, inside: file.mappedBytes), "\(name) must be a copy")
            XCTAssertTrue(tensor.data.isAligned(to: itemSize))
        }
        XCTAssertEqual(try file.tensor(named: "d").floatValues(), [-3.25])
        XCTAssertEqual(try file.tensor(named: "f").floatValues(), [0.5, Float.leastNonzeroMagnitude])
        // One-byte elements are aligned anywhere, so they stay views.
        let bytes = try file.tensor(named: "u")
        XCTAssertTrue(lies(bytes.data, inside: file.mappedBytes))
        XCTAssertEqual(bytes.data.array, [200])
    }

    func testEmptyAndScalarTensorsFromAFile() throws {
        let header = B.header([B.entry("s", "I32", [], 0, 4), B.entry("e", "F32", [0, 7], 4, 4)])
        let file = try SafetensorsFile(
            path: try save(B.file(header: header, data: B.littleEndian([Int32(-5)])), as: "s.safetensors"))
        XCTAssertEqual(try file.tensor(named: "s").floatValues(), [-5])
        XCTAssertEqual(try file.tensor(named: "e").elementCount, 0)
        XCTAssertEqual(try file.tensor(named: "e").shape, [0, 7])
        XCTAssertEqual(file.names, ["s", "e"])
        XCTAssertEqual(file.metadata, [:])
    }

    func testUnknownNamesAndBadPathsAreTypedErrors() throws {
        let path = try save(B.file(header: "{}"), as: "empty.safetensors")
        XCTAssertThrowsError(try SafetensorsFile(path: path).tensor(named: "missing")) { error in
            XCTAssertEqual(error as? SafetensorsError, .tensorNotFound(name: "missing"))
        }
        let absent = folder.appendingPathComponent("absent.safetensors").path
        XCTAssertThrowsError(try SafetensorsFile(path: absent)) { error in
            guard case .file(.cannotOpen(let reported, _))? = error as? SafetensorsError else {
                return XCTFail("expected cannotOpen, got \(error)")
            }
            XCTAssertEqual(reported, absent)
        }
        XCTAssertThrowsError(try SafetensorsFile(path: folder.path)) { error in
            XCTAssertEqual(error as? SafetensorsError, .file(.notRegularFile(path: self.folder.path)))
        }
        XCTAssertThrowsError(try SafetensorsFile(path: "/dev/zero")) { error in
            XCTAssertEqual(error as? SafetensorsError, .file(.notRegularFile(path: "/dev/zero")))
        }
    }

    func testInvalidFilesOnDiskAreRefusedWithTheParseError() throws {
        let zeroLength = try save([], as: "zero.safetensors")
        XCTAssertThrowsError(try SafetensorsFile(path: zeroLength)) { error in
            XCTAssertEqual(error as? SafetensorsError, .headerTooSmall(fileSize: 0))
        }
        let header = B.header([B.entry("w", "F32", [2], 0, 8)])
        let truncated = try save(B.file(header: header, data: [0, 0, 0, 0]), as: "truncated.safetensors")
        XCTAssertThrowsError(try SafetensorsFile(path: truncated)) { error in
            let expected = 8 + header.utf8.count + 8
            XCTAssertEqual(
                error as? SafetensorsError, .fileLengthMismatch(expected: expected, actual: expected - 4))
        }
    }
}
