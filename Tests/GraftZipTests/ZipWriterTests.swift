import Foundation
import GraftCore
import GraftTestSupport
import GraftZip
import XCTest

/// `ZipWriter`: torch-style STORED archives, 64-byte aligned, deterministic, atomic.
final class ZipWriterTests: ZipTestCase {
    private let samples: [(String, [UInt8])] = [
        ("archive/data.pkl", [0x80, 0x02, 0x7D, 0x71, 0x00, 0x2E]),
        ("archive/data/0", (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }),
        ("archive/data/1", []),
        ("archive/data/2", [42]),
        ("archive/ünïcode", Array("grüße".utf8)),
        ("archive/version", Array("3\n".utf8)),
    ]

    private func writeSamples(to path: String) throws {
        let writer = try ZipWriter(destination: path)
        for (name, bytes) in samples { try writer.add(name: name, data: ByteBuffer(bytes)) }
        try writer.commit()
    }

    private func folderContents() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
    }

    func testRoundTripThroughTheReader() throws {
        let path = folder.appendingPathComponent("out.pth").path
        try writeSamples(to: path)
        let archive = try ZipArchive(path: path)
        XCTAssertEqual(archive.entries.map(\.name), samples.map(\.0))
        for (entry, (_, bytes)) in zip(archive.entries, samples) {
            XCTAssertEqual(entry.compression, .stored)
            XCTAssertEqual(entry.size, bytes.count)
            XCTAssertEqual(entry.crc32, ZipBuilder.crc32(bytes), entry.name)
            XCTAssertEqual(try archive.read(entry).array, bytes, entry.name)
        }
        XCTAssertEqual(folderContents(), ["out.pth"], "no temporary file may be left behind")
    }

    func testDataIsSixtyFourByteAlignedWithTorchsPaddingField() throws {
        let path = folder.appendingPathComponent("out.pth").path
        try writeSamples(to: path)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let records = try XCTUnwrap(ZipBuilder.localRecords(bytes))
        XCTAssertEqual(records.map(\.name), samples.map(\.0))
        for record in records {
            XCTAssertEqual(record.data % ZipWriter.alignment, 0, record.name)
            // The extra area is exactly one "FB" field filled with 'Z', as torch writes it.
            let extraStart = record.header + 30 + record.name.utf8.count
            XCTAssertEqual(Array(bytes[extraStart..<extraStart + 2]), Array("FB".utf8), record.name)
            let fillerLength = Int(bytes.zipReadLE(extraStart + 2, bytes: 2))
            XCTAssertEqual(extraStart + 4 + fillerLength, record.data, record.name)
            XCTAssertTrue(bytes[extraStart + 4..<record.data].allSatisfy { $0 == UInt8(ascii: "Z") })
        }
    }

    func testOutputIsDeterministicAcrossTimeZones() throws {
        let first = folder.appendingPathComponent("a.pth").path
        let second = folder.appendingPathComponent("b.pth").path
        let saved = getenv("TZ").map { String(cString: $0) }
        defer {
            if let saved { setenv("TZ", saved, 1) } else { unsetenv("TZ") }
            tzset()
        }
        setenv("TZ", "UTC", 1)
        tzset()
        try writeSamples(to: first)
        setenv("TZ", "Pacific/Chatham", 1)  // +12:45: any local-time dependence would show
        tzset()
        try writeSamples(to: second)
        let a = try Data(contentsOf: URL(fileURLWithPath: first))
        XCTAssertEqual(a, try Data(contentsOf: URL(fileURLWithPath: second)))
        // Every local header carries 00:00 on 1980-01-01.
        let bytes = Array(a)
        for record in try XCTUnwrap(ZipBuilder.localRecords(bytes)) {
            XCTAssertEqual(bytes.zipReadLE(record.header + 10, bytes: 2), 0)
            XCTAssertEqual(bytes.zipReadLE(record.header + 12, bytes: 2), 0x21)
        }
    }

    func testNothingAppearsBeforeCommit() throws {
        let path = folder.appendingPathComponent("out.pth").path
        let writer = try ZipWriter(destination: path)
        try writer.add(name: "archive/data.pkl", data: ByteBuffer([1, 2, 3]))
        XCTAssertEqual(folderContents(), [])
        try writer.commit()
        XCTAssertEqual(folderContents(), ["out.pth"])
    }

    func testDroppedWriterLeavesNothing() throws {
        do {
            let writer = try ZipWriter(destination: folder.appendingPathComponent("out.pth").path)
            try writer.add(name: "archive/data.pkl", data: ByteBuffer([1, 2, 3]))
        }
        XCTAssertEqual(folderContents(), [])
    }

    func testReplacesAnExistingFileAtomically() throws {
        let path = folder.appendingPathComponent("out.pth").path
        write(Array("old contents".utf8), name: "out.pth")
        try writeSamples(to: path)
        XCTAssertEqual(try ZipArchive(path: path).entries.count, samples.count)
        XCTAssertEqual(folderContents(), ["out.pth"])
    }

    func testFailedCommitLeavesNoFileBehind() throws {
        // The destination is a non-empty directory: the final rename must fail.
        let blocked = folder.appendingPathComponent("blocked.pth")
        try FileManager.default.createDirectory(
            at: blocked.appendingPathComponent("inside"),
            withIntermediateDirectories: true)
        let writer = try ZipWriter(destination: blocked.path)
        try writer.add(name: "archive/data.pkl", data: ByteBuffer([1, 2, 3]))
        guard case .writeFailed(blocked.path, _) = zipError({ try writer.commit() }) else { return XCTFail() }
        XCTAssertEqual(folderContents(), ["blocked.pth"])
    }

    func testMissingFolderIsRejectedUpFront() {
        let path = folder.appendingPathComponent("no/such/folder/out.pth").path
        guard case .writeFailed(path, _) = zipError({ _ = try ZipWriter(destination: path) }) else {
            return XCTFail()
        }
    }

    func testUnsafeAndDuplicateNamesAreRejected() throws {
        let writer = try ZipWriter(destination: folder.appendingPathComponent("out.pth").path)
        for name in ["", "/abs", "../x", "a/../b", "a\\b", "C:x", "a\0b", "a//b", "./a"] {
            guard case .invalidEntryName = zipError({ try writer.add(name: name, data: ByteBuffer([1])) })
            else {
                return XCTFail("accepted \(ZipError.display(name))")
            }
        }
        try writer.add(name: "archive/data.pkl", data: ByteBuffer([1]))
        XCTAssertEqual(
            zipError { try writer.add(name: "archive/data.pkl", data: ByteBuffer([2])) },
            .duplicateEntry(name: "archive/data.pkl"))
        // Longer than a zip name field can hold, whatever the limit says.
        let generous = try ZipWriter(
            destination: folder.appendingPathComponent("y.pth").path, limits: ZipLimits(maxNameLength: 1 << 20))
        guard case .invalidEntryName = zipError({
            try generous.add(name: String(repeating: "a", count: 70_000), data: ByteBuffer([1]))
        })
        else { return XCTFail() }
        let limited = try ZipWriter(
            destination: folder.appendingPathComponent("x.pth").path,
            limits: ZipLimits(maxEntries: 1))
        try limited.add(name: "a", data: ByteBuffer([1]))
        guard case .tooManyEntries = zipError({ try limited.add(name: "b", data: ByteBuffer([1])) }) else {
            return XCTFail()
        }
    }

    func testEmptyArchiveAndUseAfterCommit() throws {
        let empty = folder.appendingPathComponent("empty.pth").path
        let writer = try ZipWriter(destination: empty)
        XCTAssertEqual(zipError { try writer.commit() }, .emptyArchive(path: empty))
        XCTAssertEqual(folderContents(), [])

        let path = folder.appendingPathComponent("out.pth").path
        let done = try ZipWriter(destination: path)
        try done.add(name: "a", data: ByteBuffer([1]))
        try done.commit()
        XCTAssertEqual(
            zipError { try done.add(name: "b", data: ByteBuffer([1])) }, .writerFinished(path: path))
        XCTAssertEqual(zipError { try done.commit() }, .writerFinished(path: path))
    }

    /// Graft reads a torch checkpoint and writes its records back: the copy reads identically.
    func testRewritingATorchCheckpointKeepsEveryRecord() throws {
        let original = try ZipArchive(path: TestPaths.fixture("zip/tiny_state.pth"))
        let path = folder.appendingPathComponent("copy.pth").path
        let writer = try ZipWriter(destination: path)
        for entry in original.entries { try writer.add(name: entry.name, data: try original.read(entry)) }
        try writer.commit()
        let copy = try ZipArchive(path: path)
        XCTAssertEqual(copy.entries.map(\.name), original.entries.map(\.name))
        XCTAssertEqual(copy.entries.map(\.crc32), original.entries.map(\.crc32))
        for entry in copy.entries {
            XCTAssertEqual(try copy.read(entry).array, try original.read(named: entry.name).array)
        }
    }
}
