import GraftCore
import GraftSafetensors
import GraftTestSupport
import XCTest

/// JSON-level attacks on the header: nesting, escapes, surrogates, numbers, literals and fields of
/// the wrong type. Offsets in the expectations are file offsets (8 + index in the header).
final class HostileJSONTests: XCTestCase {
    typealias B = SafetensorsBytes

    /// A header whose one metadata value is `raw` (inserted verbatim between quotes at index 22).
    private func metadataValue(_ raw: String) -> [UInt8] {
        B.file(header: #"{"__metadata__":{"k":""# + raw + #""}}"#)
    }

    /// A header whose `__metadata__` value is `raw` JSON (at index 16).
    private func metadataJSON(_ raw: String) -> [UInt8] {
        B.file(header: #"{"__metadata__":"# + raw + "}")
    }

    /// One tensor "w" whose fields are given as raw JSON.
    private func tensor(_ fields: String, data: [UInt8] = []) -> [UInt8] {
        B.file(header: #"{"w":{"# + fields + "}}", data: data)
    }

    // MARK: Nesting

    func testDeepNestingIsRefusedAtTheLimitWhereverItIs() {
        // Depths: header object 1, "w" 2, "x" 3, so the 63rd '[' (index 10 + 62) is level 65.
        let arrays =
            #"{"w":{"x":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}}"
        XCTAssertEqual(refusal(B.file(header: arrays)), .nestingTooDeep(offset: 8 + 72, limit: 64))
        let objects = String(repeating: #"{"a":"#, count: 200) + "1" + String(repeating: "}", count: 200)
        XCTAssertEqual(refusal(B.file(header: objects)), .nestingTooDeep(offset: 8 + 64 * 5, limit: 64))
    }

    func testVeryDeepNestingDoesNotExhaustTheStack() {
        let header = #"{"w":"# + String(repeating: "[", count: 200_000)
        XCTAssertEqual(refusal(B.file(header: header)), .nestingTooDeep(offset: 8 + 5 + 63, limit: 64))
    }

    func testNestingLimitIsExactAndCappedAt256() {
        // A real header needs depth 3 (header, entry, shape array).
        let valid = B.file(header: B.header([B.entry("w", "U8", [1], 0, 1)]), data: [0])
        XCTAssertNoThrow(try Safetensors.parse(valid, limits: SafetensorsLimits(maxNestingDepth: 3)))
        XCTAssertEqual(
            refusal(valid, limits: SafetensorsLimits(maxNestingDepth: 2)),
            .nestingTooDeep(offset: 8 + 27, limit: 2))
        let deep = #"{"w":"# + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "}"
        XCTAssertEqual(
            refusal(B.file(header: deep), limits: SafetensorsLimits(maxNestingDepth: 1_000_000)),
            .nestingTooDeep(offset: 8 + 5 + 255, limit: 256))
    }

    // MARK: Strings

    func testInvalidEscapesAreRefused() {
        XCTAssertTrue(jsonReason(metadataValue(#"ab\x"#), at: 8 + 24).contains(#"\x is not a JSON escape"#))
        XCTAssertTrue(jsonReason(metadataValue(#"\'"#), at: 8 + 22).contains("not a JSON escape"))
        XCTAssertTrue(jsonReason(metadataValue(#"\u12G4"#), at: 8 + 22).contains("four hex digits"))
        XCTAssertTrue(
            jsonReason(B.file(header: #"{"__metadata__":{"k":"\u12"#), at: 8 + 22).contains("four hex digits")
        )
        XCTAssertTrue(
            jsonReason(B.file(header: #"{"__metadata__":{"k":"\"#), at: 8 + 22).contains(
                "escape is not terminated"))
    }

    func testUnpairedSurrogatesAreRefused() {
        XCTAssertTrue(
            jsonReason(metadataValue(#"\uD800"#), at: 8 + 22).contains(#"lone high surrogate \uD800"#))
        XCTAssertTrue(jsonReason(metadataValue(#"x\uDBFF\n"#), at: 8 + 23).contains("lone high surrogate"))
        XCTAssertTrue(
            jsonReason(metadataValue(#"\uDC00"#), at: 8 + 22).contains(#"lone low surrogate \uDC00"#))
        XCTAssertTrue(
            jsonReason(metadataValue(#"\uD83D\u0041"#), at: 8 + 22)
                .contains(#"\uD83D is followed by \u0041, not by a low surrogate"#))
        // The paired form decodes to one scalar.
        let pair = try? Safetensors.parse(metadataValue(#"\uD83D\uDE00"#))
        XCTAssertEqual(pair?.metadata.first?.value, "😀")
    }

    func testRawControlCharactersAndUnterminatedStrings() {
        XCTAssertTrue(
            jsonReason(metadataValue("a\tb"), at: 8 + 23).contains("control character 0x09 must be escaped"))
        XCTAssertTrue(jsonReason(metadataValue("\n"), at: 8 + 22).contains("control character 0x0A"))
        XCTAssertTrue(
            jsonReason(B.file(header: #"{"__metadata__":{"k":"abc"#), at: 8 + 21)
                .contains("string is not terminated"))
        XCTAssertTrue(jsonReason(B.file(header: #"{"abc"#), at: 8 + 1).contains("string is not terminated"))
    }

    // MARK: Numbers and literals

    func testMalformedNumbers() {
        XCTAssertTrue(jsonReason(metadataJSON("01"), at: 8 + 16).contains("leading zeros"))
        XCTAssertTrue(jsonReason(metadataJSON("-"), at: 8 + 17).contains("expected a digit, found '}'"))
        XCTAssertTrue(
            jsonReason(metadataJSON("1."), at: 8 + 18).contains("a digit must follow the decimal point"))
        XCTAssertTrue(jsonReason(metadataJSON("1e"), at: 8 + 18).contains("an exponent needs digits"))
        XCTAssertTrue(jsonReason(metadataJSON(".5"), at: 8 + 16).contains("'.' cannot start a value"))
        XCTAssertTrue(jsonReason(metadataJSON("+1"), at: 8 + 16).contains("'+' cannot start a value"))
    }

    func testMalformedLiterals() {
        XCTAssertTrue(jsonReason(metadataJSON("tru"), at: 8 + 16).contains("expected true or false"))
        XCTAssertTrue(jsonReason(metadataJSON("nulll"), at: 8 + 20).contains("unexpected 'l' after null"))
        XCTAssertTrue(jsonReason(metadataJSON("True"), at: 8 + 16).contains("'T' cannot start a value"))
        XCTAssertTrue(jsonReason(metadataJSON("falsey"), at: 8 + 21).contains("after false"))
    }

    func testHugeNumbersInShapesAreOverflowNotTraps() {
        let digits = String(repeating: "9", count: 1000)
        XCTAssertEqual(
            refusal(tensor(#""dtype":"U8","shape":["# + digits + #"],"data_offsets":[0,0]"#)),
            .shapeOverflow(tensor: "w", shape: "[" + String(repeating: "9", count: 40) + "…]"))
        let negative = "-" + String(repeating: "9", count: 30)
        XCTAssertEqual(
            refusal(tensor(#""dtype":"U8","shape":["# + negative + #"],"data_offsets":[0,0]"#)),
            .invalidField(
                tensor: "w", field: "shape", reason: "dimension 0 is \(negative), which is negative"))
        XCTAssertEqual(
            refusal(tensor(#""dtype":"U8","shape":[2,-1],"data_offsets":[0,0]"#)),
            .invalidField(tensor: "w", field: "shape", reason: "dimension 1 is -1, which is negative"))
    }

    func testFractionsAreNeverSizesOrOffsets() {
        XCTAssertEqual(
            refusal(tensor(#""dtype":"U8","shape":[2.0],"data_offsets":[0,2]"#, data: [0, 0])),
            .invalidField(tensor: "w", field: "shape", reason: "dimension 0 is 2.0, not an integer"))
        XCTAssertEqual(
            refusal(tensor(#""dtype":"U8","shape":[1e3],"data_offsets":[0,2]"#, data: [0, 0])),
            .invalidField(tensor: "w", field: "shape", reason: "dimension 0 is 1e3, not an integer"))
        XCTAssertEqual(
            refusal(tensor(#""dtype":"U8","shape":[2],"data_offsets":[0,2E+0]"#, data: [0, 0])),
            .invalidField(tensor: "w", field: "data_offsets", reason: "end offset 2E+0 is not an integer"))
    }

    // MARK: Fields

    func testUnknownAndMissingFields() {
        XCTAssertEqual(
            refusal(tensor(#""dtype":"U8","shape":[1],"data_offsets":[0,1],"offsets":[0,1]"#, data: [0])),
            .unknownField(tensor: "w", field: "offsets"))
        XCTAssertEqual(
            refusal(tensor(#""dtype":"U8","shape":[1]"#)), .missingField(tensor: "w", field: "data_offsets"))
        XCTAssertEqual(
            refusal(tensor(#""shape":[1],"data_offsets":[0,1]"#, data: [0])),
            .missingField(tensor: "w", field: "dtype"))
        XCTAssertEqual(refusal(tensor("")), .missingField(tensor: "w", field: "dtype"))
    }

    func testFieldsOfTheWrongType() {
        XCTAssertEqual(
            refusal(B.file(header: #"{"w":[1,2]}"#)),
            .invalidEntry(
                tensor: "w", reason: "is an array, not an object with dtype, shape and data_offsets"))
        XCTAssertEqual(
            refusal(tensor(#""dtype":4,"shape":[1],"data_offsets":[0,1]"#, data: [0])),
            .invalidField(tensor: "w", field: "dtype", reason: "is a number, not a string"))
        XCTAssertEqual(
            refusal(tensor(#""dtype":"U8","shape":null,"data_offsets":[0,1]"#, data: [0])),
            .invalidField(tensor: "w", field: "shape", reason: "is null, not an array of integers"))
        XCTAssertEqual(
            refusal(tensor(#""dtype":"U8","shape":["1"],"data_offsets":[0,1]"#, data: [0])),
            .invalidField(tensor: "w", field: "shape", reason: "element 0 is a string, not an integer"))
        XCTAssertEqual(
            refusal(tensor(#""dtype":"U8","shape":[1],"data_offsets":[0,1,2]"#, data: [0])),
            .invalidField(
                tensor: "w", field: "data_offsets",
                reason: "has more than 2 elements, expected [begin, end]"))
        XCTAssertEqual(
            refusal(tensor(#""dtype":"U8","shape":[1],"data_offsets":[1]"#, data: [0])),
            .invalidField(tensor: "w", field: "data_offsets", reason: "has 1 elements, expected [begin, end]")
        )
        XCTAssertEqual(
            refusal(tensor(#""dtype":"U8","shape":[1],"data_offsets":{"begin":0}"#, data: [0])),
            .invalidField(
                tensor: "w", field: "data_offsets", reason: "is an object, not an array of integers"))
    }

    func testHostileNamesCannotInjectIntoMessages() {
        // ESC [31m would recolour a terminal; the message shows it escaped, on one line.
        let header = B.header([B.entry(#"\u001b[31mred\nline"#, "F8_E5M2", [1], 0, 1)])
        let error = refusal(B.file(header: header, data: [0]))
        XCTAssertEqual(error, .unsupportedDType(tensor: "\u{1B}[31mred\nline", dtype: "F8_E5M2"))
        let message = error?.description ?? ""
        XCTAssertFalse(message.contains("\u{1B}"))
        XCTAssertFalse(message.contains("\n"))
        XCTAssertTrue(message.contains(#"'\u{1b}[31mred\nline'"#), message)
    }
}
