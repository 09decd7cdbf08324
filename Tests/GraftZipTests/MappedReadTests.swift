import Foundation
import GraftCore
import GraftTestSupport
import GraftZip
import XCTest

/// `mappedRead` returns exactly what libzip reads, in place, and applies the same CRC policy.
final class MappedReadTests: XCTestCase {
    func testMappedBytesEqualLibzipReads() throws {
        for name in ["torch/resnet18_mini.pth", "torch/renamed.pth", "torch/dtypes.pth", "torch/bigendian.pth"] {
            let archive = try ZipArchive(path: TestPaths.fixture(name))
            var mapped = 0
            for entry in archive.entries {
                guard let window = try archive.mappedRead(entry) else { continue }
                XCTAssertTrue(window.isMapped)
                XCTAssertEqual(window.array, try archive.read(entry).array, "\(name): \(entry.name)")
                mapped += 1
            }
            XCTAssertEqual(mapped, archive.entries.count, "\(name): torch records are stored and located")
        }
    }

    func testCorruptRecordAndMissingCRCPolicy() throws {
        let dir = TestPaths.temporaryDirectory("graft-mapped")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = TestPaths.fixture("torch/resnet18_mini.pth")
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: source)))
        let clean = try ZipArchive(path: source)
        let target = try XCTUnwrap(clean.entries.first { $0.name.hasSuffix("/data/0") })
        let original = try clean.read(target).array
        let start = try XCTUnwrap((0...(bytes.count - original.count)).first { bytes[$0..<($0 + original.count)].elementsEqual(original) })
        bytes[start + 5] ^= 0x40
        let corrupt = dir.appendingPathComponent("corrupt.pth").path
        XCTAssertTrue(FileManager.default.createFile(atPath: corrupt, contents: Data(bytes)))
        let archive = try ZipArchive(path: corrupt)
        let entry = try XCTUnwrap(archive.entry(named: target.name))
        XCTAssertThrowsError(try archive.mappedRead(entry)) { XCTAssertEqual($0 as? ZipError, .crcMismatch(entry: target.name)) }

        let noCRC = try ZipArchive(path: TestPaths.fixture("torch/crc_disabled.pth"))
        let record = try XCTUnwrap(noCRC.entries.first { $0.name.hasSuffix("/data/0") })
        XCTAssertThrowsError(try noCRC.mappedRead(record)) { XCTAssertEqual($0 as? ZipError, .crcNotRecorded(entry: record.name)) }
        let allowed = try ZipArchive(path: TestPaths.fixture("torch/crc_disabled.pth"), allowMissingCRC: true)
        XCTAssertNotNil(try allowed.mappedRead(try XCTUnwrap(allowed.entry(named: record.name))))
    }
}
