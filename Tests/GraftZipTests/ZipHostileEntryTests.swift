import Foundation
import GraftCore
import GraftTestSupport
import GraftZip
import XCTest

/// Broken and hostile entries (style_safety.md §2.3 A4, A5, A12–A16): corrupt data, missing CRCs,
/// bombs, unsupported methods, encryption, unsafe names and special files.
final class ZipHostileEntryTests: ZipTestCase {
    private func valid() -> ZipBuilder { ZipBuilder(members: torchLikeMembers()) }

    // MARK: - A4, A5: CRC

    func testFlippedDataByteIsACRCMismatchNamingTheEntry() throws {
        var output = valid().build()
        output.bytes[output.dataOffsets[1] + 10] ^= 0x01
        let archive = try open(output.bytes)
        XCTAssertEqual(try archive.read(named: "archive/data.pkl").count, 6, "other entries stay readable")
        XCTAssertEqual(
            zipError { _ = try archive.read(named: "archive/data/0") }, .crcMismatch(entry: "archive/data/0"))
    }

    func testTorchCheckpointWithoutCRCsIsRejectedByDefault() throws {
        let archive = try ZipArchive(path: TestPaths.fixture("zip/tiny_nocrc.pth"))
        XCTAssertTrue(archive.entries.allSatisfy { $0.crc32 == 0 })
        XCTAssertEqual(
            zipError { _ = try archive.read(named: "archive/data.pkl") },
            .crcNotRecorded(entry: "archive/data.pkl"))
        XCTAssertTrue(ZipError.crcNotRecorded(entry: "x").description.contains("CRC not recorded"))
    }

    func testTorchCheckpointWithoutCRCsReadsWhenAllowed() throws {
        let expected = try manifest("tiny_nocrc.pth")
        let archive = try ZipArchive(path: TestPaths.fixture("zip/tiny_nocrc.pth"), allowMissingCRC: true)
        for (entry, want) in zip(archive.entries, expected.entries) {
            XCTAssertEqual(try archive.read(entry).array, want.bytes, entry.name)
        }
    }

    func testAllowingMissingCRCsStillChecksRecordedOnes() throws {
        var output = valid().build()
        output.bytes[output.dataOffsets[1]] ^= 0xFF
        let archive = try open(output.bytes, allowMissingCRC: true)
        XCTAssertEqual(
            zipError { _ = try archive.read(named: "archive/data/0") }, .crcMismatch(entry: "archive/data/0"))
    }

    // MARK: - A12, A13: bombs and lying sizes

    func testDeclaredHugeDeflateMemberIsRejectedBeforeInflating() {
        var bomb = ZipBuilder.Member(name: "archive/data/0", data: ZipBuilder.storedDeflate([0]), method: 8)
        bomb.uncompressedSize = 40_000_000_000
        bomb.zip64 = true
        let limits = ZipLimits(maxEntrySize: 1 << 20)
        XCTAssertEqual(
            openOrReadError(ZipBuilder(members: [bomb]).build().bytes, limits: limits),
            .entryTooLarge(entry: "archive/data/0", size: 40_000_000_000, limit: 1 << 20))
    }

    func testCompressionRatioAboveTheFloorIsABomb() {
        var bomb = ZipBuilder.Member(
            name: "w.bin", data: ZipBuilder.storedDeflate([UInt8](repeating: 0, count: 90)),
            method: 8)
        bomb.uncompressedSize = 100_000
        let limits = ZipLimits(maxCompressionRatio: 10, compressionRatioFloor: 1000)
        XCTAssertEqual(
            openOrReadError(ZipBuilder(members: [bomb]).build().bytes, limits: limits),
            .compressionBomb(entry: "w.bin", size: 100_000, compressedSize: 95, maxRatio: 10))
    }

    func testMemberInflatingPastItsDeclaredSize() throws {
        let plain = pattern(5000)
        var member = ZipBuilder.Member(
            name: "w.bin", data: ZipBuilder.storedDeflate(plain), method: 8,
            uncompressed: plain)
        member.uncompressedSize = 1000
        let archive = try open(ZipBuilder(members: [member]).build().bytes)
        guard
            case .sizeMismatch("w.bin", 1000, let reason) = zipError({ _ = try archive.read(named: "w.bin") })
        else {
            return XCTFail()
        }
        XCTAssertTrue(reason.contains("longer"), reason)
    }

    func testMemberInflatingToLessThanItsDeclaredSize() throws {
        let plain = pattern(500)
        var member = ZipBuilder.Member(
            name: "w.bin", data: ZipBuilder.storedDeflate(plain), method: 8,
            uncompressed: plain)
        member.uncompressedSize = 800
        let archive = try open(ZipBuilder(members: [member]).build().bytes)
        XCTAssertEqual(
            zipError { _ = try archive.read(named: "w.bin") },
            .sizeMismatch(entry: "w.bin", declared: 800, reason: "its data ends after 500 bytes"))
    }

    func testStoredMemberWhoseSizesDisagree() {
        var member = ZipBuilder.Member(name: "archive/data/0", data: [1, 2, 3, 4])
        member.uncompressedSize = 8
        guard
            case .sizeMismatch("archive/data/0", 8, _) = openOrReadError(
                ZipBuilder(members: [member]).build().bytes)
        else { return XCTFail() }
    }

    func testCorruptDeflateStream() throws {
        // Block type 3 is reserved: zlib reports "invalid block type".
        let member = ZipBuilder.Member(
            name: "w.bin", data: [0x07, 0x00, 0x00, 0x00], method: 8,
            uncompressed: [1, 2, 3])
        let archive = try open(ZipBuilder(members: [member]).build().bytes)
        guard case .corruptCompressedData("w.bin", _) = zipError({ _ = try archive.read(named: "w.bin") })
        else {
            return XCTFail()
        }
    }

    // MARK: - A14: methods and encryption

    func testBzip2MemberIsListedButNotRead() throws {
        let archive = try ZipArchive(path: TestPaths.fixture("zip/bzip2.zip"))
        XCTAssertEqual(try archive.read(named: "stored.txt").array, Array("plain\n".utf8))
        let packed = try XCTUnwrap(archive.entry(named: "packed.bin"))
        XCTAssertEqual(packed.compression, .other(12))
        XCTAssertEqual(
            zipError { _ = try archive.read(packed) },
            .unsupportedCompression(entry: "packed.bin", method: 12))
    }

    func testLZMAMemberIsNotRead() throws {
        let archive = try ZipArchive(path: TestPaths.fixture("zip/lzma.zip"))
        XCTAssertEqual(
            zipError { _ = try archive.read(named: "packed.bin") },
            .unsupportedCompression(entry: "packed.bin", method: 14))
    }

    func testEncryptedMember() {
        var builder = valid()
        builder.members[1].flags |= 0x0001
        XCTAssertEqual(openOrReadError(builder.build().bytes), .encryptedEntry(name: "archive/data/0"))
    }

    // MARK: - A15: names

    private func nameError(
        _ name: [UInt8], flags: UInt16 = 0, limits: ZipLimits = .default,
        file: StaticString = #filePath, line: UInt = #line
    ) -> ZipError? {
        var member = ZipBuilder.Member(name: "x", data: [1, 2, 3])
        member.name = name
        member.flags = flags
        return openOrReadError(
            ZipBuilder(members: [member]).build().bytes, limits: limits, file: file, line: line)
    }

    private func assertInvalidName(
        _ name: String, because reason: String, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let error = nameError(Array(name.utf8), file: file, line: line)
        guard case .invalidEntryName(_, let why) = error else {
            return XCTFail("\(name): got \(String(describing: error))", file: file, line: line)
        }
        XCTAssertTrue(why.contains(reason), "\(name): \(why)", file: file, line: line)
    }

    func testParentDirectoryNames() {
        assertInvalidName("../x", because: "'..'")
        assertInvalidName("archive/../../etc/passwd", because: "'..'")
        assertInvalidName("archive/..", because: "'..'")
    }

    func testAbsoluteName() { assertInvalidName("/etc/passwd", because: "absolute") }
    func testBackslashName() { assertInvalidName("archive\\data.pkl", because: "backslash") }
    func testDriveLetterName() { assertInvalidName("C:x", because: "drive letter") }
    func testEmptyAndDotComponents() {
        assertInvalidName("archive//data.pkl", because: "empty path component")
        assertInvalidName("./data.pkl", because: "'.'")
    }

    func testNonUTF8NameWithoutTheUTF8Flag() {
        let error = nameError(Array("archive/".utf8) + [0xFF, 0xFE])
        XCTAssertEqual(error, .invalidEntryName(name: "archive/\\xFF\\xFE", reason: "not valid UTF-8"))
    }

    func testNonUTF8NameWithTheUTF8Flag() {
        // libzip itself refuses a name flagged UTF-8 that is not.
        guard case .inconsistentArchive = nameError(Array("archive/".utf8) + [0xC3, 0x28], flags: 0x0800)
        else {
            return XCTFail()
        }
    }

    func testNULInsideAName() {
        // libzip 1.7.3 turns a NUL in a stored name into a space, so no reader of the name can see
        // it truncated; the name is then judged as it reads: here a '..' escape.
        guard case .invalidEntryName(let name, let why) = nameError(Array("archive/x\0/../../y".utf8)) else {
            return XCTFail()
        }
        XCTAssertEqual(name, "archive/x /../../y")
        XCTAssertTrue(why.contains("'..'"))
    }

    func testNameOfSixtyFourKilobytes() {
        let long = Array("archive/".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 65_535 - 8)
        guard case .invalidEntryName(_, let why) = nameError(long) else { return XCTFail() }
        XCTAssertTrue(why.contains("65535 bytes long"), why)
        guard
            case .invalidEntryName = nameError(
                Array("archive/data.pkl".utf8), limits: ZipLimits(maxNameLength: 8))
        else { return XCTFail() }
    }

    func testControlCharactersAreEscapedInMessages() throws {
        var output = ZipBuilder(members: [ZipBuilder.Member(name: "archive/\u{1B}[31mred", data: [1, 2])])
            .build()
        output.bytes[output.dataOffsets[0]] ^= 1
        let archive = try open(output.bytes)
        let error = try XCTUnwrap(zipError { _ = try archive.read(archive.entries[0]) })
        XCTAssertEqual(error, .crcMismatch(entry: "archive/\u{1B}[31mred"))
        XCTAssertFalse(error.description.contains("\u{1B}"))
        XCTAssertTrue(error.description.contains("\"archive/\\u{1b}[31mred\""), error.description)
    }

    // MARK: - A16: special files

    func testSymbolicLinkEntry() {
        var link = ZipBuilder.Member(name: "archive/data/0", data: Array("/etc/passwd".utf8))
        link.versionMadeBy = 3 << 8 | 20  // Unix
        link.externalAttributes = UInt32(0o120777) << 16
        XCTAssertEqual(
            openOrReadError(ZipBuilder(members: [link]).build().bytes),
            .unsupportedEntryType(name: "archive/data/0", reason: "a symbolic link"))
    }

    func testUnixRegularFilesAndDirectoriesAreFine() throws {
        var file = ZipBuilder.Member(name: "archive/data/0", data: [1])
        file.versionMadeBy = 3 << 8 | 20
        file.externalAttributes = UInt32(0o100644) << 16
        var dir = ZipBuilder.Member(name: "archive/", data: [])
        dir.versionMadeBy = 3 << 8 | 20
        dir.externalAttributes = UInt32(0o040755) << 16
        var fifo = ZipBuilder.Member(name: "archive/pipe", data: [])
        fifo.versionMadeBy = 3 << 8 | 20
        fifo.externalAttributes = UInt32(0o010644) << 16
        XCTAssertEqual(try open(ZipBuilder(members: [file, dir]).build().bytes).entries.count, 2)
        XCTAssertEqual(
            openOrReadError(ZipBuilder(members: [file, fifo]).build().bytes),
            .unsupportedEntryType(name: "archive/pipe", reason: "a FIFO"))
    }
}
