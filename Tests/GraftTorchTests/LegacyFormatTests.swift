import Foundation
import GraftCore
import GraftTestSupport
import GraftTorch
import XCTest

/// The legacy single-stream format (C17): magic, protocol version, the 8-byte counts and exact length.
final class LegacyFormatTests: XCTestCase {
    var original: [UInt8] = []
    var dir: URL!

    override func setUpWithError() throws {
        original = Array(try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("torch/resnet18_mini_legacy.pth"))))
        dir = TestPaths.temporaryDirectory("graft-legacy")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func write(_ bytes: [UInt8]) -> String {
        let path = dir.appendingPathComponent("f\(UUID().uuidString).pth").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    func loadAll(_ path: String) throws {
        guard case .dict(let items) = try TorchCheckpoint.open(path: path).root else { return XCTFail("not a dict") }
        for item in items { if case .tensor(let t) = item.value { _ = try t.load() } }
    }

    func testOriginalReads() throws {
        let c = try TorchCheckpoint.open(path: write(original))
        XCTAssertEqual(c.format, .legacy)
        XCTAssertEqual(c.byteOrder, "little")
        try loadAll(write(original))
    }

    func testBadMagicAndProtocol() throws {
        var magic = original
        magic[13] ^= 0xFF
        XCTAssertThrowsError(try TorchCheckpoint.open(path: write(magic))) { XCTAssertEqual($0 as? TorchError, .badMagic) }
        // Protocol version pickle right after the 15-byte magic: PROTO 2, BININT2 1001 (0xE9 0x03), STOP.
        XCTAssertEqual(Array(original[15..<21]), [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E])
        var proto = original
        proto[18] = 0xEA
        XCTAssertThrowsError(try TorchCheckpoint.open(path: write(proto))) {
            XCTAssertEqual($0 as? TorchError, .badProtocolVersion("int"))
        }
    }

    func testTruncatedAndTrailingData() throws {
        XCTAssertThrowsError(try TorchCheckpoint.open(path: write(Array(original.dropLast(10))))) { error in
            guard case .storageSizeMismatch = error as? TorchError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try TorchCheckpoint.open(path: write(original + [0]))) {
            XCTAssertEqual($0 as? TorchError, .trailingData(record: "storage data", bytes: 1))
        }
        // Cut inside the pickles: a typed pickle error, never a trap.
        for cut in stride(from: 16, to: 2000, by: 97) {
            XCTAssertThrowsError(try TorchCheckpoint.open(path: write(Array(original.prefix(cut)))), "cut at \(cut)")
        }
    }
}
