import Foundation
import GraftCore
import GraftTestSupport
import GraftZip
import XCTest

/// Shared helpers: a temporary folder per test, archives from bytes, and error capture.
class ZipTestCase: XCTestCase {
    var folder: URL!

    override func setUp() {
        super.setUp()
        folder = TestPaths.temporaryDirectory("graft-zip")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
        super.tearDown()
    }

    /// Writes `bytes` to a file in the test's folder and returns its path.
    @discardableResult
    func write(_ bytes: [UInt8], name: String = "test.zip") -> String {
        let path = folder.appendingPathComponent(name).path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    func open(_ bytes: [UInt8], limits: ZipLimits = .default, allowMissingCRC: Bool = false) throws
        -> ZipArchive
    {
        try ZipArchive(path: write(bytes), limits: limits, allowMissingCRC: allowMissingCRC)
    }

    /// The `ZipError` that `body` throws; records a failure if it throws nothing or another error.
    func zipError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> ZipError?
    {
        do {
            try body()
            XCTFail("expected a ZipError, but nothing was thrown", file: file, line: line)
        } catch let error as ZipError {
            // Every message is one line that a user can read.
            XCTAssertFalse(error.description.isEmpty, file: file, line: line)
            XCTAssertFalse(error.description.contains("\n"), file: file, line: line)
            return error
        } catch {
            XCTFail("expected a ZipError, got \(type(of: error)): \(error)", file: file, line: line)
        }
        return nil
    }

    /// The error of opening `bytes` (or of reading every entry if the open succeeds).
    func openOrReadError(
        _ bytes: [UInt8], limits: ZipLimits = .default, file: StaticString = #filePath, line: UInt = #line
    ) -> ZipError? {
        zipError(
            {
                let archive = try open(bytes, limits: limits)
                for entry in archive.entries { _ = try archive.read(entry) }
            }, file: file, line: line)
    }

    /// A small valid torch-like archive: three stored records under `archive/`.
    func torchLikeMembers() -> [ZipBuilder.Member] {
        [
            ZipBuilder.Member(name: "archive/data.pkl", data: [0x80, 0x02, 0x7D, 0x71, 0x00, 0x2E]),
            ZipBuilder.Member(name: "archive/data/0", data: (0..<64).map { UInt8($0) }),
            ZipBuilder.Member(name: "archive/version", data: Array("3\n".utf8)),
        ]
    }

    /// The fixtures' manifest (`tools/make_zip_fixtures.py`): what Python's zipfile sees.
    func manifest(_ fixture: String) throws -> FixtureManifest {
        let all = try TestPaths.decodeFixture([String: FixtureManifest].self, "zip/manifest.json")
        return try XCTUnwrap(all[fixture], "manifest has no \(fixture)")
    }

    /// The bytes `tools/make_zip_fixtures.py` calls `pattern(n)`.
    func pattern(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ ($0 >> 8)) } }
}

struct FixtureManifest: Decodable {
    struct Entry: Decodable {
        var name: String
        var size: Int
        var compressedSize: Int
        var crc32: UInt32
        var method: Int32
        var dataOffset: Int
        var hex: String?

        var bytes: [UInt8]? {
            guard let hex else { return nil }
            let digits = Array(hex.utf8)
            return stride(from: 0, to: digits.count, by: 2).map { i in
                UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) ?? 0
            }
        }
    }

    var fileSize: Int
    var entries: [Entry]
}
