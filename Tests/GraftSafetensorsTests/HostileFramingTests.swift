import GraftCore
import GraftSafetensors
import GraftTestSupport
import XCTest

/// style_safety.md §2.3 D1–D14: framing, header contents and coverage. Each case asserts the
/// exact error, so a refusal for the wrong reason fails too.
final class HostileFramingTests: XCTestCase {
    typealias B = SafetensorsBytes

    private let oneTensor = B.header([B.entry("w", "F32", [2], 0, 8)])
    private let eightBytes = [UInt8](repeating: 0, count: 8)

    // MARK: D1–D3 length field

    func testD1FilesShorterThanTheLengthFieldAreTooSmall() {
        XCTAssertEqual(refusal([]), .headerTooSmall(fileSize: 0))
        XCTAssertEqual(refusal([1, 0, 0, 0, 0, 0, 0]), .headerTooSmall(fileSize: 7))
    }

    func testD2HeaderLengthAboveTheLimitIsRefusedBeforeReading() {
        // The default limit is 100 MB; the file itself is tiny, so nothing was allocated for it.
        XCTAssertEqual(
            refusal(B.file(header: "{}", declaredLength: 100_000_001)),
            .headerTooLarge(declared: 100_000_001, limit: 100_000_000))
        let limits = SafetensorsLimits(maxHeaderBytes: 16)
        XCTAssertEqual(
            refusal(B.file(header: oneTensor, data: eightBytes), limits: limits),
            .headerTooLarge(declared: UInt64(oneTensor.utf8.count), limit: 16))
    }

    func testD2HeaderLengthPastTheEndOfTheFile() {
        XCTAssertEqual(
            refusal(B.file(header: "{}", declaredLength: 3)),
            .headerLengthExceedsFile(declared: 3, available: 2))
        XCTAssertEqual(
            refusal(B.file(header: "", declaredLength: 1)),
            .headerLengthExceedsFile(declared: 1, available: 0))
    }

    func testD3LengthWithTheTopBitSetDoesNotTrap() {
        for declared: UInt64 in [1 << 63, UInt64.max, UInt64(Int.max)] {
            XCTAssertEqual(
                refusal(B.file(header: "{}", declaredLength: declared)),
                .headerTooLarge(declared: declared, limit: 100_000_000))
        }
    }

    // MARK: D4 encoding and shape of the header

    func testD4HeaderThatIsNotUTF8NamesTheFirstBadByte() {
        let cases: [(bytes: [UInt8], badIndex: Int)] = [
            (Array(#"{"a"#.utf8) + [0xFF] + Array(#"":1}"#.utf8), 3),  // stray byte
            (Array(#"{""#.utf8) + [0xC0, 0xAF] + Array(#"":1}"#.utf8), 2),  // overlong '/'
            (Array(#"{""#.utf8) + [0xED, 0xA0, 0x80] + Array(#"":1}"#.utf8), 2),  // encoded surrogate
            (Array(#"{""#.utf8) + [0xF4, 0x90, 0x80, 0x80] + Array(#"":1}"#.utf8), 2),  // above U+10FFFF
            (Array(#"{""#.utf8) + [0xE2, 0x82], 2),  // truncated sequence at the end
        ]
        for (bytes, badIndex) in cases {
            XCTAssertEqual(
                refusal(B.file(headerBytes: bytes)), .headerNotUTF8(offset: 8 + badIndex), "\(bytes)")
        }
    }

    func testD4HeaderMustBeAnObject() {
        XCTAssertEqual(refusal(B.file(header: "[]")), .headerNotObject(offset: 8, found: "'['"))
        XCTAssertEqual(refusal(B.file(header: "  \"x\"")), .headerNotObject(offset: 10, found: "'\"'"))
        XCTAssertEqual(
            refusal(B.file(header: "")), .headerNotObject(offset: 8, found: "the end of the header"))
        XCTAssertEqual(
            refusal(B.file(header: "    ")), .headerNotObject(offset: 12, found: "the end of the header"))
        // A byte-order mark is not whitespace.
        XCTAssertEqual(refusal(B.file(header: "\u{FEFF}{}")), .headerNotObject(offset: 8, found: "byte 0xEF"))
    }

    func testD4HeaderThatIsNotJSON() {
        XCTAssertTrue(jsonReason(B.file(header: #"{"a""#), at: 12).contains("expected ':'"))
        XCTAssertTrue(jsonReason(B.file(header: "{}{}"), at: 10).contains("only whitespace may follow"))
        XCTAssertTrue(jsonReason(B.file(header: "{} x"), at: 11).contains("found 'x'"))
        // Padding must be whitespace: NUL bytes after the object are trailing garbage.
        XCTAssertTrue(jsonReason(B.file(header: "{}\0\0"), at: 10).contains("found byte 0x00"))
        XCTAssertTrue(jsonReason(B.file(header: #"{"a":1,}"#), at: 15).contains("expected a quoted key"))
        XCTAssertTrue(jsonReason(B.file(header: #"{a:1}"#), at: 9).contains("expected a quoted key"))
    }

    // MARK: D6–D7 keys and metadata

    func testD6DuplicateKeysAreRefusedAtEveryLevel() {
        let w = B.entry("w", "F32", [2], 0, 8)
        XCTAssertEqual(
            refusal(B.file(header: B.header([w, w]), data: eightBytes)), .duplicateKey(key: "w", context: nil)
        )
        let twoDTypes = #"{"w":{"dtype":"F32","shape":[2],"dtype":"I32","data_offsets":[0,8]}}"#
        XCTAssertEqual(
            refusal(B.file(header: twoDTypes, data: eightBytes)), .duplicateKey(key: "dtype", context: "w"))
        let metadata = #"{"__metadata__":{"k":"1","k":"2"}}"#
        XCTAssertEqual(refusal(B.file(header: metadata)), .duplicateKey(key: "k", context: "__metadata__"))
        let twoMetadata = #"{"__metadata__":{},"__metadata__":{}}"#
        XCTAssertEqual(refusal(B.file(header: twoMetadata)), .duplicateKey(key: "__metadata__", context: nil))
    }

    func testD6KeysAreComparedAfterDecodingEscapes() {
        // "w" and "\u0077" are the same key: a reader comparing raw bytes would keep both.
        let header = B.header([B.entry("w", "F32", [1], 0, 4), B.entry(#"\u0077"#, "F32", [1], 4, 8)])
        XCTAssertEqual(
            refusal(B.file(header: header, data: eightBytes)), .duplicateKey(key: "w", context: nil))
    }

    func testD6DuplicateKeysInsideSkippedOrLargeObjectsAreFound() {
        // Pass 1 checks every object, including one deep inside a field the schema refuses anyway,
        // and objects too big for the linear key scan.
        let nested = #"{"w":{"extra":[{"x":1,"x":2}]}}"#
        XCTAssertEqual(refusal(B.file(header: nested)), .duplicateKey(key: "x", context: "extra"))
        let many = (0..<40).map { "\"k\($0)\":\"v\"" } + ["\"k17\":\"v\""]
        XCTAssertEqual(
            refusal(B.file(header: #"{"__metadata__":"# + B.header(many) + "}")),
            .duplicateKey(key: "k17", context: "__metadata__"))
    }

    func testD7MetadataMustBeAnObjectOfStrings() {
        XCTAssertEqual(
            refusal(B.file(header: #"{"__metadata__":{"epoch":3}}"#)),
            .invalidMetadata(key: "epoch", reason: "is a number, not a string"))
        XCTAssertEqual(
            refusal(B.file(header: #"{"__metadata__":{"a":"b","nested":{"c":"d"}}}"#)),
            .invalidMetadata(key: "nested", reason: "is an object, not a string"))
        XCTAssertEqual(
            refusal(B.file(header: #"{"__metadata__":["a","b"]}"#)),
            .invalidMetadata(key: nil, reason: "is an array, not an object of strings"))
        XCTAssertEqual(
            refusal(B.file(header: #"{"__metadata__":null}"#)),
            .invalidMetadata(key: nil, reason: "is null, not an object of strings"))
    }

    // MARK: D8–D11 offsets, sizes and coverage

    func testD8OffsetsWithAHoleAnOverlapOrNotStartingAtZero() {
        let sixteen = [UInt8](repeating: 0, count: 16)
        let hole = B.header([B.entry("a", "F32", [1], 0, 4), B.entry("b", "F32", [2], 8, 16)])
        XCTAssertEqual(
            refusal(B.file(header: hole, data: sixteen)),
            .invalidOffsets(
                tensor: "b", reason: "its data begins at byte 8, leaving a hole after 'a', which ends at 4"))
        let overlap = B.header([B.entry("a", "F32", [2], 0, 8), B.entry("b", "F32", [2], 4, 12)])
        XCTAssertEqual(
            refusal(B.file(header: overlap, data: [UInt8](repeating: 0, count: 12))),
            .invalidOffsets(
                tensor: "b", reason: "its data begins at byte 4, overlapping 'a', which ends at 8"))
        let late = B.header([B.entry("a", "F32", [1], 4, 8)])
        XCTAssertEqual(
            refusal(B.file(header: late, data: eightBytes)),
            .invalidOffsets(
                tensor: "a", reason: "the first tensor's data begins at byte 4 of the data section, not at 0")
        )
    }

    func testD8EndBeforeBeginAndNegativeOrHugeOffsets() {
        let reversed = B.header([B.entry("a", "F32", [0], 8, 4)])
        XCTAssertEqual(
            refusal(B.file(header: reversed, data: eightBytes)),
            .invalidOffsets(tensor: "a", reason: "its data ends at 4, before it begins at 8"))
        let negative = #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}"#
        XCTAssertEqual(
            refusal(B.file(header: negative)),
            .invalidOffsets(tensor: "a", reason: "its begin offset -1 is negative"))
        let huge =
            #"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,"# + String(repeating: "9", count: 500) + "]}}"
        guard case .invalidOffsets(let tensor, let reason) = refusal(B.file(header: huge)) else {
            return XCTFail("expected invalidOffsets")
        }
        XCTAssertEqual(tensor, "a")
        XCTAssertTrue(reason.hasSuffix("… does not fit in 64 bits"), reason)
        XCTAssertLessThan(reason.count, 100, "a 500-digit number is cut in the message")
        let nearMax = B.header([B.entry("a", "U8", [Int.max - 4], 0, Int.max - 4)])
        XCTAssertEqual(
            refusal(B.file(header: nearMax)),
            .invalidOffsets(
                tensor: "a", reason: "its data ends at byte \(Int.max - 4), beyond any possible file"))
    }

    func testD8TheJSONAttackOfManyTensorsSharingOneRange() {
        // safetensors attacks/README: 10 names over the same bytes would multiply memory use.
        let members = (0..<10).map { B.entry("t\($0)", "F32", [2], 0, 8) }
        XCTAssertEqual(
            refusal(B.file(header: B.header(members), data: eightBytes)),
            .invalidOffsets(
                tensor: "t1", reason: "its data begins at byte 0, overlapping 't0', which ends at 8"))
    }

    func testD9SpanDifferentFromTheDTypeAndShape() {
        let header = B.header([B.entry("w", "F32", [3], 0, 8)])
        XCTAssertEqual(
            refusal(B.file(header: header, data: eightBytes)),
            .sizeMismatch(tensor: "w", declaredBytes: 8, expectedBytes: 12))
        let scalar = B.header([B.entry("s", "F64", [], 0, 4)])
        XCTAssertEqual(
            refusal(B.file(header: scalar, data: [0, 0, 0, 0])),
            .sizeMismatch(tensor: "s", declaredBytes: 4, expectedBytes: 8))
    }

    func testD10ShapeProductOverflow() {
        let reference = #"{"w":{"dtype":"F32","shape":[2,18446744073709551614],"data_offsets":[0,8]}}"#
        XCTAssertEqual(
            refusal(B.file(header: reference, data: eightBytes)),
            .shapeOverflow(tensor: "w", shape: "[2, 18446744073709551614]"))
        let elements = B.header([B.entry("w", "U8", [1 << 32, 1 << 32], 0, 8)])
        XCTAssertEqual(
            refusal(B.file(header: elements, data: eightBytes)),
            .shapeOverflow(tensor: "w", shape: "[4294967296, 4294967296]"))
        // The element count fits, the byte count (× 8) does not.
        let bytes = B.header([B.entry("w", "F64", [1 << 61], 0, 8)])
        XCTAssertEqual(
            refusal(B.file(header: bytes, data: eightBytes)),
            .shapeOverflow(tensor: "w", shape: "[\(1 << 61)]"))
        // Zero elements, but dimensions whose strides overflow: refused in every order (issue 16: the
        // zero-first order passed and crashed `export` computing strides).
        for dims in [[0, 1 << 40, 1 << 40], [1 << 40, 0, 1 << 40], [1 << 40, 1 << 40, 0]] {
            let empty = B.header([B.entry("w", "F32", dims, 0, 0)])
            XCTAssertEqual(refusal(B.file(header: empty)), .shapeOverflow(tensor: "w", shape: "\(dims)"), "\(dims)")
        }
    }

    func testD11TrailingOrMissingBytes() {
        let trailing = refusal(B.file(header: oneTensor, data: eightBytes + Array("PK\u{3}\u{4}".utf8)))
        let expected = 8 + oneTensor.utf8.count + 8
        XCTAssertEqual(trailing, .fileLengthMismatch(expected: expected, actual: expected + 4))
        XCTAssertEqual(trailing?.description.hasPrefix("file has 4 bytes after the last tensor ends"), true)
        let missing = refusal(B.file(header: oneTensor, data: [0, 0, 0]))
        XCTAssertEqual(missing, .fileLengthMismatch(expected: expected, actual: expected - 5))
        XCTAssertEqual(
            missing?.description.hasPrefix("file is 5 bytes shorter than its header declares"), true)
        XCTAssertEqual(
            refusal(B.file(header: "{}", data: [0])), .fileLengthMismatch(expected: 10, actual: 11))
    }

    // MARK: D12–D14 dtypes, limits, foreign files

    func testD12UnknownDTypes() {
        for name in ["F8_E4M3", "C64", "U32", "f32", "float32", ""] {
            let header = B.header([B.entry("w", name, [1], 0, 1)])
            XCTAssertEqual(
                refusal(B.file(header: header, data: [0])), .unsupportedDType(tensor: "w", dtype: name))
        }
    }

    func testD13HugeEntryCountsStopAtTheLimitWithoutReadingTheRest() {
        // 100 000 well-formed entries, then garbage: with maxTensors = 1000 the parser must stop at
        // entry 1002 and report the limit, so it never reaches (or reports) the garbage.
        var header = "{"
        header.reserveCapacity(3_000_000)
        for i in 0..<100_000 {
            header += "\"t\(i)\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
        }
        header += "this is not JSON"
        let limits = SafetensorsLimits(maxTensors: 1000)
        XCTAssertEqual(refusal(B.file(header: header), limits: limits), .tooManyTensors(limit: 1000))
        // Pass 2 counts exactly: 3 tensors against a limit of 2, with metadata taking the spare slot.
        let three = B.header((0..<3).map { B.entry("t\($0)", "U8", [0], 0, 0) })
        XCTAssertEqual(
            refusal(B.file(header: three), limits: SafetensorsLimits(maxTensors: 2)),
            .tooManyTensors(limit: 2))
    }

    func testD13RankAndNameLimits() {
        let deep = B.header([B.entry("w", "U8", [1, 1, 1, 1, 1], 0, 1)])
        XCTAssertEqual(
            refusal(B.file(header: deep, data: [0]), limits: SafetensorsLimits(maxRank: 4)),
            .rankTooLarge(tensor: "w", limit: 4))
        let long = String(repeating: "n", count: 200)
        let named = B.header([B.entry(long, "U8", [1], 0, 1)])
        guard
            case .nameTooLong(let name, let length, let limit) =
                refusal(B.file(header: named, data: [0]), limits: SafetensorsLimits(maxNameLength: 64))
        else { return XCTFail("expected nameTooLong") }
        XCTAssertEqual(length, 200)
        XCTAssertEqual(limit, 64)
        XCTAssertEqual(
            name, String(repeating: "n", count: 100) + "…", "the error keeps only the name's beginning")
    }

    func testD14ForeignFilesAreRefusedByTheLengthField() {
        // safetensors has no magic number; a zip (.pth), an HDF5 file or a pickle fails the header
        // length checks before a byte of it is interpreted.
        let zip: [UInt8] =
            [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00] + [UInt8](repeating: 0, count: 64)
        XCTAssertEqual(refusal(zip), .headerTooLarge(declared: 0x14_0403_4B50, limit: 100_000_000))
        let hdf5: [UInt8] =
            [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 64)
        XCTAssertEqual(refusal(hdf5), .headerTooLarge(declared: 0x0A1A_0A0D_4644_4889, limit: 100_000_000))
        let pickle: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x28, 0x58, 0x01, 0x00, 0x00]
        guard case .headerTooLarge = refusal(pickle) else { return XCTFail("expected headerTooLarge") }
    }
}
