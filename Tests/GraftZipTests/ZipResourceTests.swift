import Foundation
import GraftCore
import GraftTestSupport
import GraftZip
import XCTest

/// Failures must not leak libzip handles or file descriptors.
final class ZipResourceTests: ZipTestCase {
    private func openDescriptors() throws -> Int {
        guard FileManager.default.fileExists(atPath: "/proc/self/fd") else {
            throw XCTSkip("needs /proc/self/fd to count open descriptors")
        }
        return try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
    }

    func testFailedOpensReadsAndWritesCloseEverything() throws {
        var corrupt = ZipBuilder(members: torchLikeMembers()).build()
        corrupt.bytes[corrupt.dataOffsets[1]] ^= 1
        var inconsistent = ZipBuilder(members: torchLikeMembers())
        inconsistent.members[0].centralCRC32 = 7
        var duplicate = ZipBuilder(members: torchLikeMembers())
        duplicate.members.append(duplicate.members[0])
        let paths = [
            write([], name: "empty.zip"),
            write(Array(corrupt.bytes.prefix(100)), name: "cut.zip"),
            write(inconsistent.build().bytes, name: "incons.zip"),
            write(duplicate.build().bytes, name: "dup.zip"),
            write(corrupt.bytes, name: "crc.zip"),
        ]
        let before = try openDescriptors()
        for _ in 0..<50 {
            for path in paths {
                do {
                    let archive = try ZipArchive(path: path)
                    for entry in archive.entries { _ = try? archive.read(entry) }
                } catch {}
            }
            let writer = try ZipWriter(destination: folder.appendingPathComponent("blocked").path)
            try writer.add(name: "a", data: ByteBuffer([1]))
            try? FileManager.default.createDirectory(
                at: folder.appendingPathComponent("blocked/x"), withIntermediateDirectories: true)
            XCTAssertThrowsError(try writer.commit())
        }
        XCTAssertEqual(try openDescriptors(), before)
    }
}
