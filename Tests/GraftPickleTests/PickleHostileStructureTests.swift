import GraftPickle
import GraftTestSupport
import XCTest

/// style_safety.md §2.3 B8–B11, B15, B17, B18 and reference cycles: broken stack discipline,
/// memo abuse, lying lengths, odd integers and keys.
final class PickleHostileStructureTests: XCTestCase {
    // MARK: B8: stack discipline

    func testTupleOpcodesOnAnEmptyStackUnderflow() {
        assertRejects(
            PickleBuilder().proto(2).tuple3().stop(),
            .malformed(offset: 2, reason: "TUPLE3 needs 3 values on the stack, found 0"))
        // Values below a MARK are out of reach, as in CPython.
        assertRejects(
            PickleBuilder().proto(2).binInt1(1).mark().tuple1().stop(),
            .malformed(offset: 5, reason: "TUPLE1 needs 1 values on the stack, found 0"))
    }

    func testMarkConsumingOpcodesWithoutAMarkAreMalformed() {
        assertRejects(
            PickleBuilder().proto(2).binInt1(1).tuple().stop(),
            .malformed(offset: 4, reason: "TUPLE without a MARK"))
        assertRejects(
            PickleBuilder().proto(2).emptyList().appends().stop(),
            .malformed(offset: 3, reason: "APPENDS without a MARK"))
        assertRejects(
            PickleBuilder().proto(2).popMark().stop(),
            .malformed(offset: 2, reason: "POP_MARK without a MARK"))
    }

    func testOddKeyValueCountsAreMalformed() {
        let setItems = PickleBuilder().proto(2).emptyDict().mark().binUnicode("a").binInt1(1).binUnicode("b")
            .setItems().stop()
        assertRejects(
            setItems, .malformed(offset: 18, reason: "SETITEMS needs key/value pairs, found 3 values"))
        assertRejects(
            PickleBuilder().proto(2).mark().binInt1(1).dict().stop(),
            .malformed(offset: 5, reason: "DICT needs key/value pairs, found 1 values"))
    }

    func testContainerOpcodesCheckTheirTarget() {
        assertRejects(
            PickleBuilder().proto(2).emptyTuple().none().append().stop(),
            .malformed(offset: 4, reason: "APPEND needs a list to append to, found tuple"))
        assertRejects(
            PickleBuilder().proto(2).emptyList().none().none().setItem().stop(),
            .malformed(offset: 5, reason: "SETITEM needs a dict to set items in, found list"))
        assertRejects(
            PickleBuilder().proto(4).mark().frozenSet().mark().binInt1(1).addItems().stop(),
            .malformed(offset: 7, reason: "ADDITEMS needs a set to add to, found frozenset"))
    }

    func testOpcodesThatNeedAValueRefuseAnEmptyStack() {
        for (code, name) in [(UInt8(0x30), "POP"), (0x32, "DUP"), (0x51, "BINPERSID"), (0x94, "MEMOIZE")] {
            assertRejects(
                PickleBuilder().proto(4).op(code).stop(),
                .malformed(offset: 2, reason: "\(name) needs a value but the stack is empty"))
        }
        assertRejects(
            PickleBuilder().proto(2).binPut(0).stop(),
            .malformed(offset: 2, reason: "BINPUT needs a value but the stack is empty"))
    }

    func testStopNeedsAValueAndNoOpenMark() {
        assertRejects(
            PickleBuilder().proto(2).stop(), .malformed(offset: 2, reason: "STOP with an empty stack"))
        assertRejects(
            PickleBuilder().proto(2).mark().none().stop(),
            .malformed(offset: 4, reason: "STOP with 1 MARK(s) still open"))
    }

    // MARK: B9: memo

    func testGetOfAnUnsetMemoSlotIsABadReference() {
        assertRejects(
            PickleBuilder().proto(2).none().binPut(1).binGet(5).stop(),
            .badMemoReference(offset: 5, index: 5))
        assertRejects(
            PickleBuilder().proto(2).longBinGet(0xFFFF_FFFE).stop(),
            .badMemoReference(offset: 2, index: 0xFFFF_FFFE))
        assertRejects(PickleBuilder().none().put("1").get("2").stop(), .badMemoReference(offset: 4, index: 2))
    }

    /// The memo is a dictionary: the largest index costs one entry, not a 4-billion-slot array.
    func testHugeMemoIndexCostsOneEntry() throws {
        let b = PickleBuilder().proto(2).binUnicode("x").longBinPut(0xFFFF_FFFF).pop().longBinGet(0xFFFF_FFFF)
            .stop()
        XCTAssertEqual(try decode(b), .string("x"))
    }

    func testTextMemoIndicesMustBeNonNegativeDecimals() {
        assertRejects(
            PickleBuilder().none().put("-1").stop(),
            .malformed(offset: 1, reason: "PUT needs a non-negative decimal memo index"))
        assertRejects(
            PickleBuilder().get("x").stop(),
            .malformed(offset: 0, reason: "GET needs a non-negative decimal memo index"))
    }

    /// Each pickle of a concatenated stream has its own memo (the legacy torch format).
    func testMemoDoesNotCarryOverToTheNextPickle() throws {
        let bytes = PickleBuilder().proto(2).none().binPut(0).stop().proto(2).binGet(0).stop().bytes
        let machine = PickleMachine(allowedGlobals: [])
        let first = try machine.decode(bytes)
        XCTAssertEqual(first.end, 6)
        XCTAssertThrowsError(try machine.decode(bytes, from: first.end)) { error in
            XCTAssertEqual(error as? PickleError, .badMemoReference(offset: 8, index: 0))
        }
    }

    // MARK: B10: lying lengths

    func testLengthsBeyondTheInputAreTruncatedBeforeAnyAllocation() {
        let tenBytes = [UInt8](repeating: 0x61, count: 10)
        assertRejects(
            PickleBuilder().proto(2).binUnicode(bytes: tenBytes, length: 1_000_000_000).stop(),
            .truncated(offset: 2, opcode: "BINUNICODE"))
        assertRejects(
            PickleBuilder().proto(4).binUnicode8(bytes: tenBytes, length: .max).stop(),
            .truncated(offset: 2, opcode: "BINUNICODE8"))
        assertRejects(
            PickleBuilder().proto(4).binBytes8(tenBytes, length: 1 << 63).stop(),
            .truncated(offset: 2, opcode: "BINBYTES8"))
        assertRejects(
            PickleBuilder().proto(3).binBytes(tenBytes, length: .max).stop(),
            .truncated(offset: 2, opcode: "BINBYTES"))
        assertRejects(
            PickleBuilder().proto(2).long4(tenBytes, count: 1_000_000_000).stop(),
            .truncated(offset: 2, opcode: "LONG4"))
    }

    func testFrameLongerThanTheInputIsTruncated() {
        assertRejects(
            PickleBuilder().proto(4).frame(1000).none().stop(), .truncated(offset: 2, opcode: "FRAME"))
        assertRejects(
            PickleBuilder().proto(4).frame(.max).none().stop(), .truncated(offset: 2, opcode: "FRAME"))
    }

    func testNegativeLengthsAreMalformed() {
        assertRejects(
            PickleBuilder().proto(2).long4([], count: -5).stop(),
            .malformed(offset: 2, reason: "LONG4 has a negative length -5"))
        assertRejects(
            PickleBuilder().proto(2).binString([], length: -1).stop(),
            .malformed(offset: 2, reason: "BINSTRING has a negative length -1"))
    }

    func testArgumentsCutByTheEndOfInputAreTruncated() {
        assertRejects(PickleBuilder().proto(2).op(0x4A).raw([1, 2]), .truncated(offset: 2, opcode: "BININT"))
        assertRejects(
            PickleBuilder().proto(2).op(0x47).raw([0x3F, 0xF0]), .truncated(offset: 2, opcode: "BINFLOAT"))
        assertRejects(
            PickleBuilder().proto(2).op(0x63).raw(Array("os".utf8)), .truncated(offset: 2, opcode: "GLOBAL"))
        assertRejects(PickleBuilder().proto(2).op(0x80), .truncated(offset: 2, opcode: "PROTO"))
    }

    // MARK: B11: no STOP, trailing bytes

    func testStreamWithoutStopIsMalformed() {
        assertRejects(
            PickleBuilder().proto(2).none(), .malformed(offset: 3, reason: "the stream ended without STOP"))
        assertRejects([], .malformed(offset: 0, reason: "the stream ended without STOP"))
    }

    func testStartOffsetOutsideTheInputIsMalformed() {
        XCTAssertThrowsError(try PickleMachine(allowedGlobals: []).decode([0x4E, 0x2E, 0x00], from: 10)) {
            error in
            XCTAssertEqual(
                error as? PickleError,
                .malformed(offset: 10, reason: "start offset is outside the 3 input bytes"))
        }
    }

    /// Bytes after STOP are the caller's business; `end` says where they start.
    func testBytesAfterStopAreLeftToTheCaller() throws {
        let bytes = PickleBuilder().proto(2).binInt1(7).stop().raw([0xDE, 0xAD]).bytes
        let (value, end) = try PickleMachine(allowedGlobals: []).decode(bytes)
        XCTAssertEqual(value, .int(7))
        XCTAssertEqual(end, 5)
    }

    // MARK: B15: integers beyond Int64

    func testLongIntegersBeyondInt64StayBigIntsInMinimalForm() throws {
        // 2**63 written with a redundant sign byte.
        let big = try decode(PickleBuilder().proto(2).long1([0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0]).stop())
        XCTAssertEqual(big, .bigInt([0, 0, 0, 0, 0, 0, 0, 0x80, 0]))
        XCTAssertNil(big.intValue)
        let text = try decode(PickleBuilder().longLine("-123456789012345678901234567890L").stop())
        XCTAssertEqual(text, .bigInt([46, 245, 192, 177, 17, 31, 140, 60, 9, 240, 22, 113, 254]))
    }

    func testLongIntegersThatFitInt64BecomeInts() throws {
        XCTAssertEqual(
            try decode(PickleBuilder().proto(2).long1([UInt8](repeating: 0xFF, count: 12)).stop()), .int(-1))
        XCTAssertEqual(
            try decode(PickleBuilder().proto(2).long1([0, 0, 0, 0, 0, 0, 0, 0x80]).stop()), .int(Int.min))
        XCTAssertEqual(try decode(PickleBuilder().proto(2).long1([]).stop()), .int(0))
        XCTAssertEqual(try decode(PickleBuilder().proto(2).long4([0x01, 0x00]).stop()), .int(1))
        XCTAssertEqual(try decode(PickleBuilder().longLine("9223372036854775807L").stop()), .int(Int.max))
        XCTAssertEqual(try decode(PickleBuilder().intLine("-9223372036854775808").stop()), .int(Int.min))
    }

    func testDecimalIntegersAreBoundedAndUnambiguous() {
        assertRejects(
            PickleBuilder().intLine(String(repeating: "9", count: 5000)).stop(),
            .malformed(offset: 0, reason: "INT argument has more than 4300 digits"))
        assertRejects(
            PickleBuilder().intLine("12a").stop(),
            .malformed(offset: 0, reason: "INT argument is not a decimal integer"))
        assertRejects(
            PickleBuilder().intLine("010").stop(),
            .malformed(
                offset: 0, reason: "INT argument has a leading zero, which CPython reads as octal or refuses")
        )
        assertRejects(
            PickleBuilder().longLine("-0012L").stop(),
            .malformed(
                offset: 0, reason: "LONG argument has a leading zero, which CPython reads as octal or refuses"
            ))
        assertRejects(
            PickleBuilder().floatLine("0x1p3").stop(),
            .malformed(offset: 0, reason: "FLOAT argument is not a number"))
    }

    // MARK: B17: duplicate keys

    func testDuplicateKeyInOneSetItemsIsAnError() {
        let b = PickleBuilder().proto(2).emptyDict().mark()
            .binUnicode("conv1.weight").binInt1(1).binUnicode("conv1.weight").binInt1(2).setItems().stop()
        assertRejects(b, .duplicateKey(offset: 42, key: "\"conv1.weight\""))
    }

    func testDuplicateKeyAcrossSetItemAndDictIsAnError() {
        let b = PickleBuilder().proto(2).emptyDict().binUnicode("a").none().setItem().binUnicode("a").none()
            .setItem()
        assertRejects(b.stop(), .duplicateKey(offset: 18, key: "\"a\""))
        assertRejects(
            PickleBuilder().proto(2).mark().binInt1(3).none().binInt1(3).none().dict().stop(),
            .duplicateKey(offset: 9, key: "3"))
    }

    func testDuplicatePairsInOrderedDictArgumentsAreAnError() {
        let b = PickleBuilder().proto(2).global("collections", "OrderedDict").mark()
            .binUnicode("k").none().tuple2().binUnicode("k").none().tuple2().list().tuple1().reduce().stop()
        assertRejects(b, .duplicateKey(offset: 46, key: "\"k\""))
    }

    /// Keys compare as in Python: True == 1 == 1.0, and 2.0**64 == 2**64.
    func testKeysEqualInPythonAreDuplicates() {
        assertRejects(
            PickleBuilder().proto(2).mark().binInt1(1).none().newTrue().none().dict().stop(),
            .duplicateKey(offset: 8, key: "True"))
        assertRejects(
            PickleBuilder().proto(2).mark().binInt1(1).none().binFloat(1.0).none().dict().stop(),
            .duplicateKey(offset: 16, key: "1.0"))
        let twoTo64: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 1]
        assertRejects(
            PickleBuilder().proto(2).mark().long1(twoTo64).none().binFloat(0x1p64).none().dict().stop(),
            .duplicateKey(offset: 25, key: "1.8446744073709552e+19"))
    }

    /// …but text compares by code points, not by Swift's canonical equivalence, and each NaN is
    /// its own key.
    func testKeysDistinctInPythonAreKept() throws {
        let b = PickleBuilder().proto(2).mark().binUnicode("caf\u{e9}").binInt1(1).binUnicode("cafe\u{301}")
            .binInt1(2)
            .binFloat(.nan).binInt1(3).binFloat(.nan).binInt1(4).dict().stop()
        XCTAssertEqual(try decode(b).dictEntries?.count, 4)
    }

    // MARK: B18: odd keys

    func testUnhashableKeysAreRefused() {
        assertRejects(
            PickleBuilder().proto(2).emptyDict().emptyList().none().setItem().stop(),
            .unhashableKey(offset: 5, kind: "list"))
        assertRejects(
            PickleBuilder().proto(2).emptyDict().emptyDict().none().setItem().stop(),
            .unhashableKey(offset: 5, kind: "dict"))
        assertRejects(
            PickleBuilder().proto(2).emptyDict().emptyList().tuple1().none().setItem().stop(),
            .unhashableKey(offset: 6, kind: "tuple"))
        assertRejects(
            PickleBuilder().proto(2).emptyDict().global("builtins", "set").none().setItem().stop(),
            .unhashableKey(offset: 18, kind: "global \"builtins.set\""))
        assertRejects(
            PickleBuilder().proto(2).emptyDict().none().binPersID().none().setItem().stop(),
            .unhashableKey(offset: 6, kind: "persistent id"))
        assertRejects(
            PickleBuilder().proto(4).emptySet().mark().emptyList().addItems().stop(),
            .unhashableKey(offset: 5, kind: "list"))
    }

    /// Non-string keys are pickle data; state-dict rules about them belong to the torch layer.
    func testHashableNonStringKeysAreData() throws {
        let b = PickleBuilder().proto(3).mark().binInt1(1).none().shortBinBytes([0x6B]).none()
            .binInt1(2).binUnicode("").tuple2().none().binUnicode("").none().dict().stop()
        XCTAssertEqual(
            try decode(b).dictEntries?.map(\.key),
            [.int(1), .bytes([0x6B]), .tuple([.int(2), .string("")]), .string("")])
    }

    func testKeysInMessagesAreEscaped() {
        let hostile = "\u{1B}[31mred\u{202E}\n"
        let b = PickleBuilder().proto(2).mark().binUnicode(hostile).none().binUnicode(hostile).none().dict()
            .stop()
        guard let error = rejection(b) else { return XCTFail("accepted a duplicate key") }
        XCTAssertEqual(error, .duplicateKey(offset: 39, key: "\"\\u{1b}[31mred\\u{202e}\\n\""))
        XCTAssertFalse(error.description.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E })
    }

    // MARK: Reference cycles

    func testAListThatContainsItselfIsACycle() {
        assertRejects(
            PickleBuilder().proto(2).emptyList().binPut(0).binGet(0).append().stop(),
            .malformed(offset: 2, reason: "reference cycle: this list contains itself"))
    }

    func testCyclesThroughDictsTuplesAndBuildStatesAreFound() {
        assertRejects(
            PickleBuilder().proto(2).emptyDict().binPut(0).binUnicode("me").binGet(0).setItem().stop(),
            .malformed(offset: 2, reason: "reference cycle: this dict contains itself"))
        assertRejects(
            PickleBuilder().proto(2).emptyList().binPut(0).binGet(0).tuple1().append().stop(),
            .malformed(offset: 2, reason: "reference cycle: this list contains itself"))
        let built = PickleBuilder().proto(2).global("torch", "Size").emptyTuple().reduce().binPut(0).binGet(0)
            .build()
        assertRejects(
            built.stop(),
            .malformed(offset: 15, reason: "reference cycle: this \"torch.Size\"(…) contains itself"),
            allowed: torchGlobals)
    }
}
