import Foundation
import GraftCore
import GraftTestSupport
import GraftZip
import XCTest

/// Real archives written by torch and by Python's zipfile, read back and compared with what
/// Python's own zip reader saw (Fixtures/zip/manifest.json).
final class ZipGoldenReadTests: ZipTestCase {
    /// Every entry's name, order, sizes, CRC, method and bytes match Python's view.
    private func assertMatchesManifest(_ fixture: String, file: StaticString = #filePath, line: UInt = #line)
        throws
    {
        let expected = try manifest(fixture)
        let archive = try ZipArchive(path: TestPaths.fixture("zip/\(fixture)"))
        XCTAssertEqual(archive.fileSize, expected.fileSize, file: file, line: line)
        XCTAssertEqual(archive.entries.map(\.name), expected.entries.map(\.name), file: file, line: line)
        for (entry, want) in zip(archive.entries, expected.entries) {
            XCTAssertEqual(entry.size, want.size, want.name, file: file, line: line)
            XCTAssertEqual(entry.compressedSize, want.compressedSize, want.name, file: file, line: line)
            XCTAssertEqual(entry.crc32, want.crc32, want.name, file: file, line: line)
            XCTAssertEqual(entry.compression.method, want.method, want.name, file: file, line: line)
            if let bytes = want.bytes {
                XCTAssertEqual(try archive.read(entry).array, bytes, want.name, file: file, line: line)
            }
        }
    }

    func testTorchSaveToPathUsesTheFileNameAsPrefix() throws {
        try assertMatchesManifest("tiny_state.pth")
        let archive = try ZipArchive(path: TestPaths.fixture("zip/tiny_state.pth"))
        XCTAssertTrue(archive.entries.allSatisfy { $0.name.hasPrefix("tiny_state/") })
        XCTAssertTrue(archive.entries.allSatisfy { $0.compression == .stored })
        XCTAssertEqual(archive.entries(withPrefix: "tiny_state/data/").count, 4)
        XCTAssertEqual(try archive.read(named: "tiny_state/byteorder").array, Array("little".utf8))
    }

    func testTorchSaveToBufferUsesArchivePrefixAndStorageBytes() throws {
        try assertMatchesManifest("tiny_buffer.pth")
        let archive = try ZipArchive(path: TestPaths.fixture("zip/tiny_buffer.pth"))
        XCTAssertEqual(archive.entries.first?.name, "archive/data.pkl")
        // data/1 is conv.bias: float32 [0.5, -1.25], little-endian.
        let bias = try archive.read(named: "archive/data/1")
        XCTAssertEqual(bias.count, 8)
        XCTAssertEqual(bias.bytes.loadUnaligned(fromByteOffset: 0, as: Float.self), 0.5)
        XCTAssertEqual(bias.bytes.loadUnaligned(fromByteOffset: 4, as: Float.self), -1.25)
        XCTAssertTrue(bias.isAligned(to: 64))
    }

    func testDeflatedStoredEmptyDirectoryAndUnicodeMembers() throws {
        try assertMatchesManifest("deflated.zip")
        let archive = try ZipArchive(path: TestPaths.fixture("zip/deflated.zip"))
        let big = try XCTUnwrap(archive.entry(named: "weights/pattern.bin"))
        XCTAssertEqual(big.compression, .deflated)
        XCTAssertEqual(try archive.read(big).array, pattern(65536))
        XCTAssertEqual(try archive.read(named: "weights/empty.bin").count, 0)
        XCTAssertEqual(try archive.read(named: "weights/stored.bin").array, pattern(100))
        XCTAssertTrue(try XCTUnwrap(archive.entry(named: "weights/")).isDirectory)
        let text = try archive.read(named: "notes/ünïcode.txt")
        XCTAssertEqual(String(decoding: text.array, as: UTF8.self), "grüße\n")
    }

    /// A21: records that are not 64-byte aligned read like any other; the result buffer is aligned.
    func testUnalignedRecordsAreReadIntoAlignedBuffers() throws {
        try assertMatchesManifest("unaligned.zip")
        let expected = try manifest("unaligned.zip")
        XCTAssertNotEqual(expected.entries[1].dataOffset % 4, 0, "the fixture's record should be misaligned")
        let archive = try ZipArchive(path: TestPaths.fixture("zip/unaligned.zip"))
        let values = try archive.read(named: "archive/data/0")
        XCTAssertTrue(values.isAligned(to: 64))
        let floats = values.bytes.bindMemory(to: Float.self)
        XCTAssertEqual(Array(floats), [1.0, -2.0, 3.5, 0.25, 1e-3])
    }

    func testReadIntoCallerBuffer() throws {
        let archive = try ZipArchive(path: TestPaths.fixture("zip/tiny_buffer.pth"))
        let entry = try XCTUnwrap(archive.entry(named: "archive/data/0"))
        var floats = [Float](repeating: .nan, count: entry.size / 4)
        try floats.withUnsafeMutableBytes { try archive.read(entry, into: $0) }
        XCTAssertEqual(floats, (0..<12).map { Float($0) / 4 })

        var wrong = [UInt8](repeating: 0, count: entry.size + 1)
        let error = zipError { try wrong.withUnsafeMutableBytes { try archive.read(entry, into: $0) } }
        XCTAssertEqual(error, .destinationSizeMismatch(entry: "archive/data/0", size: 48, destination: 49))
    }

    func testMissingEntriesAndEntriesOfAnotherArchive() throws {
        let archive = try ZipArchive(path: TestPaths.fixture("zip/tiny_buffer.pth"))
        XCTAssertNil(archive.entry(named: "archive/data/9"))
        XCTAssertEqual(
            zipError { _ = try archive.read(named: "archive/data/9") }, .missingEntry(name: "archive/data/9"))
        let other = try ZipArchive(path: TestPaths.fixture("zip/tiny_state.pth"))
        let foreign = try XCTUnwrap(other.entry(named: "tiny_state/data.pkl"))
        XCTAssertEqual(zipError { _ = try archive.read(foreign) }, .missingEntry(name: "tiny_state/data.pkl"))
    }

    /// The full-size torchvision ResNet-50 checkpoint: 326 records, every one read and verified.
    func testFullSizeResNet50Checkpoint() throws {
        guard let shared = TestPaths.sharedFixtures else { throw XCTSkip("../shared/fixtures is absent") }
        let path = shared.appendingPathComponent("resnet50.pth").path
        let opened = Date()
        let archive = try ZipArchive(path: path)
        let openSeconds = Date().timeIntervalSince(opened)
        XCTAssertEqual(archive.entries.count, 326)
        XCTAssertTrue(
            archive.entries.allSatisfy { $0.name.hasPrefix("resnet50/") && $0.compression == .stored })
        XCTAssertEqual(archive.entries(withPrefix: "resnet50/data/").count, 320)
        XCTAssertEqual(archive.entries.first?.name, "resnet50/data.pkl")
        let conv1 = try XCTUnwrap(archive.entry(named: "resnet50/data/0"))
        XCTAssertEqual(conv1.size, 64 * 3 * 7 * 7 * 4)
        XCTAssertEqual(conv1.crc32, 0x9803_BB03)
        XCTAssertEqual(ZipBuilder.crc32(try archive.read(conv1).array), 0x9803_BB03)
        XCTAssertEqual(try archive.read(named: "resnet50/byteorder").array, Array("little".utf8))

        let started = Date()
        var total = 0
        for entry in archive.entries { total += try archive.read(entry).count }
        let seconds = Date().timeIntervalSince(started)
        XCTAssertEqual(total, 102_480_200)
        print(
            String(
                format: "resnet50.pth: open %.2f ms, read %d bytes in %.3f s (%.0f MB/s)",
                openSeconds * 1000, total, seconds, Double(total) / 1e6 / max(seconds, 1e-9)))

        // Written back by ZipWriter, every record keeps its name, order and CRC.
        let copyPath = folder.appendingPathComponent("resnet50.pth").path
        let writeStarted = Date()
        let writer = try ZipWriter(destination: copyPath)
        for entry in archive.entries { try writer.add(name: entry.name, data: try archive.read(entry)) }
        try writer.commit()
        let writeSeconds = Date().timeIntervalSince(writeStarted)
        print(String(format: "resnet50.pth: read + write back in %.3f s", writeSeconds))
        let copy = try ZipArchive(path: copyPath)
        XCTAssertEqual(copy.entries.map(\.name), archive.entries.map(\.name))
        XCTAssertEqual(copy.entries.map(\.crc32), archive.entries.map(\.crc32))
        XCTAssertEqual(try copy.read(named: "resnet50/data/0").array, try archive.read(conv1).array)
    }
}
