import GraftCore
import GraftSafetensors
import GraftTestSupport
import XCTest

/// Valid headers: what the parser accepts and what it returns.
final class ParseTests: XCTestCase {
    typealias B = SafetensorsBytes

    func testEntriesComeBackInOffsetOrderWithDataStart() throws {
        // The header lists "b" first, but "a" owns the first bytes of the data section.
        let header = B.header([B.entry("b", "F16", [2], 4, 8), B.entry("a", "I32", [1], 0, 4)])
        let file = B.file(header: header, data: [UInt8](repeating: 7, count: 8))
        let parsed = try Safetensors.parse(file)
        XCTAssertEqual(
            parsed.entries,
            [
                SafetensorsEntry(name: "a", dtype: .int32, shape: [1], dataRange: 0..<4),
                SafetensorsEntry(name: "b", dtype: .float16, shape: [2], dataRange: 4..<8),
            ])
        XCTAssertEqual(parsed.dataStart, 8 + header.utf8.count)
        XCTAssertEqual(parsed.dataByteCount, 8)
        XCTAssertEqual(parsed.entry(named: "b")?.elementCount, 2)
        XCTAssertNil(parsed.entry(named: "c"))
        XCTAssertTrue(parsed.metadata.isEmpty)
    }

    func testEmptyHeaderAndEmptyFileBody() throws {
        let parsed = try Safetensors.parse(B.file(header: "{}"))
        XCTAssertTrue(parsed.entries.isEmpty)
        XCTAssertEqual(parsed.dataStart, 10)
    }

    func testWhitespacePaddingBeforeAndAfterTheObjectIsAccepted() throws {
        // D5: writers pad the header (spaces by the reference writer, any JSON whitespace here).
        let body = B.header([B.entry("x", "U8", [3], 0, 3)])
        for header in [
            "   " + body, body + "     ", "\n\t " + body + " \r\n",
            " { \"x\" : { \"dtype\" : \"U8\" , "
                + "\"shape\" : [ 3 ] , \"data_offsets\" : [ 0 , 3 ] } } ",
        ] {
            let parsed = try Safetensors.parse(B.file(header: header, data: [1, 2, 3]))
            XCTAssertEqual(parsed.entries.map(\.name), ["x"], header)
            XCTAssertEqual(parsed.dataStart, 8 + header.utf8.count)
        }
    }

    func testEmptyTensorsAndScalarsAreValid() throws {
        // Several empty tensors may share an offset; a 0-rank scalar holds one element.
        let header = B.header([
            B.entry("e1", "F32", [0, 3], 0, 0), B.entry("s", "F64", [], 0, 8),
            B.entry("e2", "BOOL", [2, 0], 0, 0), B.entry("e3", "I8", [0], 8, 8),
        ])
        let parsed = try Safetensors.parse(B.file(header: header, data: [UInt8](repeating: 0, count: 8)))
        XCTAssertEqual(parsed.entries.map(\.name), ["e1", "e2", "s", "e3"])
        XCTAssertEqual(parsed.entry(named: "s")?.shape, [])
        XCTAssertEqual(parsed.entry(named: "s")?.elementCount, 1)
        XCTAssertEqual(parsed.entry(named: "e2")?.elementCount, 0)
    }

    func testMetadataKeepsFileOrderAndDecodesEveryEscape() throws {
        let header =
            #"{"__metadata__":{"z":"1","a":"q\"b\\s\/n\nt\tr\rb\bf\f","u":"\u00e9\uD83D\uDE00\u0000"}}"#
        let parsed = try Safetensors.parse(B.file(header: header))
        XCTAssertEqual(parsed.metadata.map(\.key), ["z", "a", "u"])
        XCTAssertEqual(parsed.metadata.map(\.value), ["1", "q\"b\\s/n\nt\tr\rb\u{8}f\u{C}", "é😀\u{0}"])
    }

    func testMetadataMayComeAfterTheTensorsAndBeEmpty() throws {
        let header = B.header([B.entry("w", "BF16", [1], 0, 2), #""__metadata__":{}"#])
        let parsed = try Safetensors.parse(B.file(header: header, data: [0, 0x3F]))
        XCTAssertEqual(parsed.entries.map(\.dtype), [.bfloat16])
        XCTAssertTrue(parsed.metadata.isEmpty)
    }

    func testEveryGraftDTypeIsReadByItsSafetensorsName() throws {
        var members: [String] = []
        var offset = 0
        for dtype in DType.allCases {
            members.append(
                B.entry("t.\(dtype)", dtype.safetensorsName, [2], offset, offset + 2 * dtype.itemSize))
            offset += 2 * dtype.itemSize
        }
        let parsed = try Safetensors.parse(
            B.file(header: B.header(members), data: [UInt8](repeating: 1, count: offset)))
        XCTAssertEqual(parsed.entries.map(\.dtype), DType.allCases)
    }

    func testNonASCIINamesAndEscapedNamesAreDecoded() throws {
        let header = B.header([
            #""caf\u00e9.w\"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}"#,
            B.entry("日本/重み", "U8", [1], 1, 2),
        ])
        let parsed = try Safetensors.parse(B.file(header: header, data: [1, 2]))
        XCTAssertEqual(parsed.entries.map(\.name), ["café.w\"x", "日本/重み"])
    }

    func testLimitsAtTheirBoundaryStillAccept() throws {
        let header = B.header([B.entry("abcd", "U8", [1, 1, 1], 0, 1)])
        let limits = SafetensorsLimits(
            maxHeaderBytes: header.utf8.count, maxTensors: 1, maxRank: 3, maxNameLength: 4)
        XCTAssertEqual(
            try Safetensors.parse(B.file(header: header, data: [9]), limits: limits).entries.count, 1)
    }
}
