import Foundation
import GraftCore
import GraftTestSupport
import GraftZip
import XCTest

/// Broken and hostile archives at the container level (style_safety.md §2.3 A1–A3, A6–A11,
/// A19, A20, G1): each must fail at open with its own `ZipError`, never trap, never leak.
final class ZipHostileContainerTests: ZipTestCase {
    private func valid() -> ZipBuilder { ZipBuilder(members: torchLikeMembers()) }

    // MARK: - A1, A2: not a zip, truncated

    func testEmptyFileIsNotAnArchive() {
        let path = write([])
        XCTAssertEqual(zipError { _ = try ZipArchive(path: path) }, .notAZipArchive(path: path))
    }

    func testThreeByteFileIsNotAnArchive() {
        let path = write([0x50, 0x4B, 0x03])
        XCTAssertEqual(zipError { _ = try ZipArchive(path: path) }, .notAZipArchive(path: path))
    }

    func testLegacyPickleStreamIsNotAnArchive() {
        // torch ≤ 1.5 files start with a pickled magic number, not a zip header.
        let path = write(
            [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
                + [UInt8](repeating: 0x2E, count: 100))
        XCTAssertEqual(zipError { _ = try ZipArchive(path: path) }, .notAZipArchive(path: path))
    }

    func testCheckpointCutInHalfIsTruncated() throws {
        let full = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("zip/tiny_buffer.pth")))
        let error = zipError { _ = try open(Array(full.prefix(full.count / 2))) }
        guard case .truncated(_, let reason) = error else {
            return XCTFail("got \(String(describing: error))")
        }
        XCTAssertTrue(reason.contains("end-of-central-directory"), reason)
    }

    /// A3: an entry whose (consistent) sizes claim more bytes than lie before the central directory.
    func testEntryClaimingBytesPastTheCentralDirectory() {
        var builder = valid()
        builder.members[2].uncompressedSize += 10_000
        builder.members[2].centralCompressedSize = UInt64(builder.members[2].data.count + 10_000)
        var bytes = builder.build()
        let local = bytes.localHeaderOffsets[2]
        bytes.bytes.zipPatchLE(local + 18, UInt64(builder.members[2].data.count + 10_000), bytes: 4)
        guard case .inconsistentArchive = openOrReadError(bytes.bytes) else { return XCTFail() }
    }

    // MARK: - A6: central directory and local header disagree

    private func assertInconsistent(
        _ change: (inout ZipBuilder.Member) -> Void, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        var builder = valid()
        change(&builder.members[1])
        let error = openOrReadError(builder.build().bytes, file: file, line: line)
        guard case .inconsistentArchive = error else {
            return XCTFail("got \(String(describing: error))", file: file, line: line)
        }
    }

    func testCentralNameDiffersFromLocalName() {
        assertInconsistent { $0.centralName = Array("archive/data/1".utf8) }
    }
    func testCentralCRCDiffersFromLocalCRC() { assertInconsistent { $0.centralCRC32 = $0.crc32 ^ 1 } }
    func testCentralMethodDiffersFromLocalMethod() { assertInconsistent { $0.centralMethod = 8 } }
    func testCentralSizesDifferFromLocalSizes() {
        assertInconsistent {
            $0.centralCompressedSize = UInt64($0.data.count - 1)
            $0.centralUncompressedSize = UInt64($0.data.count - 1)
        }
    }

    // MARK: - A7, A8: end record counts and offsets

    func testEndRecordCountTooHigh() {
        var builder = valid()
        builder.entryCountOverride = 4
        guard case .inconsistentArchive = openOrReadError(builder.build().bytes) else { return XCTFail() }
    }

    func testEndRecordCountTooLow() {
        var builder = valid()
        builder.entryCountOverride = 2
        guard case .inconsistentArchive = openOrReadError(builder.build().bytes) else { return XCTFail() }
    }

    func testEndRecordCountAtUInt16Max() {
        var builder = valid()
        builder.entryCountOverride = 0xFFFF
        guard case .inconsistentArchive = openOrReadError(builder.build().bytes) else { return XCTFail() }
    }

    func testCentralDirectoryOffsetPastTheEnd() {
        var builder = valid()
        builder.centralDirectoryOffsetDelta = 100_000
        guard case .inconsistentArchive = openOrReadError(builder.build().bytes) else { return XCTFail() }
    }

    func testCentralDirectoryOverlappingTheEndRecord() {
        var builder = valid()
        builder.centralDirectorySizeDelta = 10
        guard case .inconsistentArchive = openOrReadError(builder.build().bytes) else { return XCTFail() }
    }

    /// Unreferenced bytes between the last entry and the central directory: libzip 1.7.3 accepts
    /// them and Graft never reads them, so the archive stays readable (the lenient policy of A19).
    func testGapBeforeTheCentralDirectoryIsIgnored() throws {
        var builder = valid()
        builder.gapBeforeCentralDirectory = 16
        let archive = try open(builder.build().bytes)
        XCTAssertEqual(try archive.read(named: "archive/data/0").array, (0..<64).map { UInt8($0) })
    }

    func testMultiDiskArchiveIsUnsupported() {
        var output = valid().build()
        output.bytes.zipPatchLE(output.endRecordOffset + 4, 1, bytes: 2)  // number of this disk
        output.bytes.zipPatchLE(output.endRecordOffset + 6, 1, bytes: 2)  // disk with the directory
        guard case .unsupportedArchive = openOrReadError(output.bytes) else { return XCTFail() }
    }

    // MARK: - A9: ZIP64

    func testZip64ArchiveReads() throws {
        var builder = valid()
        builder.zip64EndRecord = true
        for i in builder.members.indices { builder.members[i].zip64 = true }
        let archive = try open(builder.build().bytes)
        XCTAssertEqual(
            archive.entries.map(\.name), torchLikeMembers().map { String(decoding: $0.name, as: UTF8.self) })
        XCTAssertEqual(try archive.read(named: "archive/data/0").array, (0..<64).map { UInt8($0) })
    }

    func testZip64SizeOfTwoToTheSixtyThird() {
        var builder = valid()
        builder.zip64EndRecord = true
        builder.members[1].zip64 = true
        builder.members[1].uncompressedSize = 1 << 63
        builder.members[1].centralCompressedSize = 1 << 63
        var output = builder.build()
        output.bytes.zipPatchLE(output.localHeaderOffsets[1] + 30 + 14 + 4 + 8, 1 << 63, bytes: 8)
        // libzip sees the entry run past the central directory.
        guard case .inconsistentArchive = openOrReadError(output.bytes) else { return XCTFail() }
    }

    func testZip64OffsetPlusSizeWrapsAround() {
        var builder = valid()
        builder.zip64EndRecord = true
        builder.members[2].zip64 = true
        let wrapping = UInt64.max - 20
        builder.members[2].uncompressedSize = wrapping
        builder.members[2].centralCompressedSize = wrapping
        var output = builder.build()
        output.bytes.zipPatchLE(output.localHeaderOffsets[2] + 30 + 15 + 4 + 8, wrapping, bytes: 8)
        // libzip's own bound check wraps around and passes; Graft's size checks do not.
        XCTAssertEqual(
            openOrReadError(output.bytes),
            .entryTooLarge(entry: "archive/version", size: wrapping, limit: ZipLimits.default.maxEntrySize))
    }

    func testZip64LocatorPointingElsewhere() {
        var builder = valid()
        builder.zip64EndRecord = true
        builder.zip64LocatorOffsetDelta = -8
        guard case .inconsistentArchive = openOrReadError(builder.build().bytes) else { return XCTFail() }
    }

    // MARK: - A10, A11: shared bytes and duplicate names

    func testTwoCentralRecordsSharingOneLocalHeader() {
        var builder = valid()
        var twin = builder.members[1]
        twin.sharesLocalHeaderOf = 1
        twin.centralName = Array("archive/data/1".utf8)
        builder.members.append(twin)
        guard case .inconsistentArchive = openOrReadError(builder.build().bytes) else { return XCTFail() }
    }

    /// Fifield's "quoted overlap": an entry's data is the next entry's whole local record, so the
    /// entries claim more bytes than the file has. libzip accepts it; GraftZip must not.
    func testQuotedOverlapZipBomb() {
        let inner = ZipBuilder.Member(name: "archive/data/1", data: [UInt8](repeating: 0, count: 200))
        let innerRecord = ZipBuilder(members: [inner]).build()
        let quoted = Array(innerRecord.bytes[0..<innerRecord.centralDirectoryOffset])
        var outer = ZipBuilder.Member(name: "archive/data/0", data: quoted)
        outer.crc32 = ZipBuilder.crc32(quoted)
        // Build: outer's local header, then its "data" (= inner's local record); the central
        // directory lists outer and inner, inner's header sitting inside outer's data.
        var builder = ZipBuilder(members: [outer])
        var innerShared = inner
        innerShared.sharesLocalHeaderOf = 0
        builder.members.append(innerShared)
        var output = builder.build()
        // Point inner's central record at the quoted header inside outer's data.
        let innerCentral = output.centralDirectoryOffset + 46 + outer.name.count
        output.bytes.zipPatchLE(innerCentral + 42, UInt64(output.dataOffsets[0]), bytes: 4)
        let error = openOrReadError(output.bytes)
        guard case .overlappingEntries(let entry, let claimed, let size) = error else {
            return XCTFail("got \(String(describing: error))")
        }
        XCTAssertEqual(entry, "archive/data/1")
        XCTAssertGreaterThan(claimed, size)
    }

    func testDuplicateNameNamesTheEntry() {
        var builder = valid()
        builder.members.append(ZipBuilder.Member(name: "archive/data.pkl", data: [0x80, 0x02, 0x2E]))
        XCTAssertEqual(openOrReadError(builder.build().bytes), .duplicateEntry(name: "archive/data.pkl"))
    }

    func testCanonicallyEquivalentNamesAreDuplicates() {
        // "é" precomposed and "e" + combining acute: different bytes, one Swift string.
        let builder = ZipBuilder(members: [
            ZipBuilder.Member(name: "w/caf\u{E9}", data: [1]),
            ZipBuilder.Member(name: "w/cafe\u{301}", data: [2]),
        ])
        XCTAssertEqual(openOrReadError(builder.build().bytes), .duplicateEntry(name: "w/cafe\u{301}"))
    }

    // MARK: - A19, A20: trailing junk, entry count

    func testJunkAfterTheEndRecord() {
        var builder = valid()
        builder.trailing = Array("JUNK".utf8)
        guard case .inconsistentArchive = openOrReadError(builder.build().bytes) else { return XCTFail() }
    }

    func testEntryCountLimit() {
        let members = (0..<50).map { ZipBuilder.Member(name: "archive/data/\($0)", data: [UInt8($0)]) }
        let bytes = ZipBuilder(members: members).build().bytes
        XCTAssertNoThrow(try open(bytes, limits: ZipLimits(maxEntries: 50)))
        let path = write(bytes, name: "many.zip")
        XCTAssertEqual(
            zipError { _ = try ZipArchive(path: path, limits: ZipLimits(maxEntries: 49)) },
            .tooManyEntries(path: path, count: 50, limit: 49))
    }

    // MARK: - G1, G2: not a regular file, file shrinking under the reader

    /// Reads use plain file I/O, not a mapping, so a file cut short after open gives an error,
    /// not a SIGBUS.
    func testFileTruncatedAfterOpen() throws {
        let members = [ZipBuilder.Member(name: "archive/data/0", data: pattern(100_000))]
        let path = write(ZipBuilder(members: members).build().bytes)
        let archive = try ZipArchive(path: path)
        XCTAssertEqual(truncate(path, 50_000), 0)
        guard case .readFailed("archive/data/0", _) = zipError({ _ = try archive.read(named: "archive/data/0") })
        else { return XCTFail() }
    }


    func testDirectoryFIFODeviceAndMissingPath() {
        let dir = folder.path
        XCTAssertEqual(zipError { _ = try ZipArchive(path: dir) }, .notRegularFile(path: dir))
        let fifo = folder.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertEqual(zipError { _ = try ZipArchive(path: fifo) }, .notRegularFile(path: fifo))
        XCTAssertEqual(zipError { _ = try ZipArchive(path: "/dev/zero") }, .notRegularFile(path: "/dev/zero"))
        let missing = folder.appendingPathComponent("missing.pth").path
        guard case .cannotOpen(missing, _) = zipError({ _ = try ZipArchive(path: missing) }) else {
            return XCTFail()
        }
    }
}
