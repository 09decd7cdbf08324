import GraftModels
import XCTest

/// Architecture names reach messages from files (a store's `graft.arch`): the message quotes a
/// bounded, escaped prefix (issue 16's hostile catalogue found a 100,000-character name echoed whole).
final class ZooErrorTests: XCTestCase {
    func testAnUnknownArchitectureIsQuotedWithABoundedPrefix() {
        let long = ZooError.unknownArch(String(repeating: "k", count: 100_000)).description
        XCTAssertTrue(long.hasPrefix("unknown architecture 'kkkk"), String(long.prefix(100)))
        XCTAssertLessThan(long.utf8.count, 2_000)
        let short = ZooError.unknownArch("resnet9999").description
        XCTAssertTrue(short.hasPrefix("unknown architecture 'resnet9999'; known: "), short)
        XCTAssertFalse(ZooError.unknownArch("a\u{1b}[2Jb").description.contains("\u{1b}"))
    }
}
