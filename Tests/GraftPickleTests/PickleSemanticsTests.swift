import GraftPickle
import GraftTestSupport
import XCTest

/// Python's meaning of the stream: shared mutable containers, BUILD, the data-like callables,
/// and the protocol-0 text forms. Each expected value is what CPython's `pickle.loads` gives
/// for the same bytes (checked by hand when the test was written).
final class PickleSemanticsTests: XCTestCase {
    // MARK: Reference semantics

    /// A dict put in the memo while empty and filled afterwards is seen filled everywhere.
    func testMemoizedDictIsSharedByReference() throws {
        let b = PickleBuilder().proto(2).emptyList()
            .emptyDict().binPut(0).append()
            .binGet(0).mark().binUnicode("a").binInt1(1).setItems().pop()
            .binGet(0).append().stop()
        let d = PickleValue.dict([entry("a", .int(1))])
        XCTAssertEqual(try decode(b), .list([d, d]))
    }

    /// A tuple holds its list by reference: appending later shows through the tuple.
    func testListInsideATupleSeesLaterAppends() throws {
        let b = PickleBuilder().proto(2).emptyList().binPut(0).tuple1().binGet(0).binInt1(5).append().pop()
            .stop()
        XCTAssertEqual(try decode(b), .tuple([.list(ints([5]))]))
    }

    func testDupSharesTheSameList() throws {
        let b = PickleBuilder().proto(2).emptyList().dup().binInt1(1).append().tuple2().stop()
        XCTAssertEqual(try decode(b), .tuple([.list(ints([1])), .list(ints([1]))]))
    }

    func testPopRightAfterMarkRemovesTheMark() throws {
        XCTAssertEqual(try decode(PickleBuilder().proto(2).mark().pop().binInt1(1).stop()), .int(1))
        XCTAssertEqual(
            try decode(PickleBuilder().proto(2).binInt1(2).mark().binInt1(1).popMark().stop()), .int(2))
    }

    // MARK: BUILD

    func testBuildOnADictDropsTheState() throws {
        let b = PickleBuilder().proto(2).emptyDict().binUnicode("k").none().setItem()
            .emptyDict().binUnicode("_metadata").binInt1(1).setItem().build().stop()
        XCTAssertEqual(try decode(b), .dict([entry("k", .none)]))
    }

    /// BUILD on an object records the state in place, so memo references see it too.
    func testBuildOnACallRecordsTheStateInPlace() throws {
        let b = PickleBuilder().proto(2).global("torch", "Size").emptyTuple().reduce().binPut(0)
            .binInt1(1).build().binInt1(2).build().binGet(0).tuple2().stop()
        let built = PickleValue.built(
            .built(.call(module: "torch", name: "Size", args: []), state: .int(1)),
            state: .int(2))
        XCTAssertEqual(try decode(b, allowed: torchGlobals), .tuple([built, built]))
    }

    /// A tuple has no identity to change: BUILD wraps it and the memoized tuple stays as it was.
    func testBuildOnATupleWrapsIt() throws {
        let b = PickleBuilder().proto(2).emptyTuple().binPut(0).none().build().binGet(0).tuple2().stop()
        XCTAssertEqual(try decode(b), .tuple([.built(.tuple([]), state: .none), .tuple([])]))
    }

    // MARK: Callables that are data

    func testOrderedDictFromPairsListsAndDicts() throws {
        let od = { PickleBuilder().proto(2).global("collections", "OrderedDict") }
        XCTAssertEqual(try decode(od().emptyTuple().reduce().stop()), .dict([]))
        let pairs = od().mark().binUnicode("a").binInt1(1).tuple2().emptyList().binUnicode("b").append()
            .binInt1(2).append().list().tuple1().reduce().stop()
        XCTAssertEqual(try decode(pairs), .dict([entry("a", .int(1)), entry("b", .int(2))]))
        let fromDict = od().emptyDict().binUnicode("c").none().setItem().tuple1().reduce().stop()
        XCTAssertEqual(try decode(fromDict), .dict([entry("c", .none)]))
        // NEWOBJ, then SETITEMS on the result, as a protocol-2 OrderedDict subclass would be written.
        let newObj = od().emptyTuple().newObj().binUnicode("d").binInt1(4).setItem().stop()
        XCTAssertEqual(try decode(newObj), .dict([entry("d", .int(4))]))
    }

    func testOrderedDictWithOtherArgumentsIsMalformed() {
        let b = PickleBuilder().proto(2).global("collections", "OrderedDict").binInt1(1).tuple1().reduce()
            .stop()
        assertRejects(
            b,
            .malformed(
                offset: 30, reason: "collections.OrderedDict needs no argument or one iterable of pairs"))
        let notPairs = PickleBuilder().proto(2).global("collections", "OrderedDict").emptyList().binInt1(1)
            .append()
            .tuple1().reduce().stop()
        assertRejects(
            notPairs,
            .malformed(offset: 32, reason: "collections.OrderedDict needs key/value pairs, found int"))
    }

    func testSetsCollapseRepeatedElementsLikePython() throws {
        let set = PickleBuilder().proto(2).global("builtins", "set").emptyList().mark().binInt1(1).binInt1(2)
            .binInt1(1).newTrue().appends().tuple1().reduce().stop()
        XCTAssertEqual(try decode(set), .set(ints([1, 2])))  // True == 1
        let frozen = PickleBuilder().proto(2).global("__builtin__", "frozenset").emptyTuple().reduce().stop()
        XCTAssertEqual(try decode(frozen), .set([]))
        let p4 = PickleBuilder().proto(4).emptySet().mark().binUnicode("x").binUnicode("x").addItems()
            .mark().binInt1(3).frozenSet().tuple2().stop()
        XCTAssertEqual(try decode(p4), .tuple([.set([.string("x")]), .set(ints([3]))]))
    }

    func testCodecsEncodeLatin1AndEmptyBytesCallAreBytes() throws {
        for encoding in ["latin1", "latin-1", "LATIN_1"] {
            let b = PickleBuilder().proto(2).global("_codecs", "encode").binUnicode("\u{0}\u{e9}\u{ff}")
                .binUnicode(encoding).tuple2().reduce().stop()
            XCTAssertEqual(try decode(b), .bytes([0x00, 0xE9, 0xFF]), encoding)
        }
        XCTAssertEqual(
            try decode(PickleBuilder().proto(2).global("__builtin__", "bytes").emptyTuple().reduce().stop()),
            .bytes([]))
        // Any other encoding is recorded, not interpreted.
        let utf8 = PickleBuilder().proto(2).global("_codecs", "encode").binUnicode("a").binUnicode("utf-8")
            .tuple2().reduce().stop()
        XCTAssertEqual(
            try decode(utf8),
            .call(module: "_codecs", name: "encode", args: [.string("a"), .string("utf-8")]))
    }

    func testOtherAllowedCallablesAreRecordedNotRun() throws {
        let reduce = PickleBuilder().proto(2).global("torch", "Size").binInt1(3).binInt1(4).tuple2().tuple1()
            .reduce().stop()
        XCTAssertEqual(
            try decode(reduce, allowed: torchGlobals),
            .call(module: "torch", name: "Size", args: [.tuple(ints([3, 4]))]))
        let newObjEx = PickleBuilder().proto(4).global("torch", "Size").emptyTuple().emptyDict().newObjEx()
            .stop()
        XCTAssertEqual(
            try decode(newObjEx, allowed: torchGlobals), .call(module: "torch", name: "Size", args: []))
        let uncalled = PickleBuilder().proto(4).shortBinUnicode("torch").shortBinUnicode("FloatStorage")
            .stackGlobal().stop()
        XCTAssertEqual(
            try decode(uncalled, allowed: torchGlobals), .global(module: "torch", name: "FloatStorage"))
        XCTAssertEqual(try decode(uncalled, allowed: torchGlobals).qualifiedName, "torch.FloatStorage")
    }

    func testPersistentIDsKeepTheirPayload() throws {
        let bin = PickleBuilder().proto(2).binUnicode("storage").binInt1(0).tuple2().binPersID().stop()
        XCTAssertEqual(try decode(bin), .persistentID(.tuple([.string("storage"), .int(0)])))
        XCTAssertEqual(try decode(PickleBuilder().persID("abc").stop()), .persistentID(.string("abc")))
    }

    // MARK: Protocol 0 text

    func testTextIntegersBoolsAndFloats() throws {
        let b = PickleBuilder().mark().intLine("01").intLine("00").intLine("-5").intLine(" 7 ").intLine("0")
            .longLine("12L").longLine("-12").longLine("00L").floatLine("1.5").floatLine("-inf").floatLine(
                "1e-5"
            ).tuple().stop()
        XCTAssertEqual(
            try decode(b),
            .tuple([
                .bool(true), .bool(false), .int(-5), .int(7), .int(0), .int(12), .int(-12),
                .int(0), .float(1.5), .float(-.infinity), .float(1e-5),
            ]))
        guard case .float(let nan) = try decode(PickleBuilder().floatLine("nan").stop()) else {
            return XCTFail()
        }
        XCTAssertTrue(nan.isNaN)
        guard case .float(let zero) = try decode(PickleBuilder().proto(2).binFloat(-0.0).stop()) else {
            return XCTFail()
        }
        XCTAssertEqual(zero.sign, .minus)
    }

    /// Python 2 `repr` strings: quotes, escapes, octal and hex, decoded as UTF-8 as torch does.
    func testQuotedStringEscapes() throws {
        XCTAssertEqual(
            try decode(PickleBuilder().stringLine(#"'a\n\x41\101\'b\\'"#).stop()), .string("a\nAA'b\\"))
        XCTAssertEqual(try decode(PickleBuilder().stringLine(#""it's \q""#).stop()), .string("it's \\q"))
        XCTAssertEqual(try decode(PickleBuilder().stringLine(#"'caf\xc3\xa9'"#).stop()), .string("caf\u{e9}"))
        XCTAssertEqual(
            try decode(PickleBuilder().proto(2).shortBinString(Array("caf\u{e9}".utf8)).stop()),
            .string("caf\u{e9}"))
    }

    /// raw-unicode-escape: Latin-1 bytes, and `\u`/`\U` only after an odd run of backslashes.
    func testRawUnicodeEscapes() throws {
        let cases: [([UInt8], String)] = [
            (Array(#"a\u005cb"#.utf8), "a\\b"),
            (Array(#"\\u0041"#.utf8), #"\\u0041"#),
            (Array(#"\\\u0041"#.utf8), #"\\A"#),
            (Array(#"\U0001f642\x"#.utf8), "\u{1F642}\\x"),
            ([0x63, 0x61, 0x66, 0xE9], "caf\u{e9}"),
        ]
        for (bytes, expected) in cases {
            XCTAssertEqual(try decode(PickleBuilder().unicodeLine(bytes: bytes).stop()), .string(expected))
        }
    }

    func testTextMemoAndPython2BuiltinNames() throws {
        let b = PickleBuilder().mark().unicodeLine(bytes: Array("x".utf8)).put("10").get("10").tuple().stop()
        XCTAssertEqual(try decode(b), .tuple([.string("x"), .string("x")]))
        let set = PickleBuilder().global("__builtin__", "set").mark().list().tuple1().reduce().stop()
        XCTAssertEqual(try decode(set), .set([]))
    }

    // MARK: Framing and positions

    func testFramesAreTransparent() throws {
        let b = PickleBuilder().proto(4).frame(4).binInt1(9).emptyTuple().stop()
        XCTAssertEqual(try decode(b), .tuple([]))
    }

    func testDecodeFromAnOffsetInABuffer() throws {
        let bytes = [0xAA, 0xBB] + PickleBuilder().proto(2).binInt2(500).stop().bytes
        try bytes.withUnsafeBytes { raw in
            let (value, end) = try PickleMachine(allowedGlobals: []).decode(raw, from: 2)
            XCTAssertEqual(value, .int(500))
            XCTAssertEqual(end, bytes.count)
        }
    }

    func testErrorsDescribeThemselvesInOneLine() {
        let errors: [PickleError] = [
            .truncated(offset: 1, opcode: "BINUNICODE"), .unsupportedProtocol(offset: 0, version: 9),
            .unsupportedOpcode(offset: 2, opcode: 0x69), .disallowedGlobal(offset: 2, name: "os.system\n"),
            .malformed(offset: 3, reason: "x"), .badMemoReference(offset: 4, index: 5),
            .invalidString(offset: 5, opcode: "UNICODE"), .duplicateKey(offset: 6, key: "\"k\""),
            .unhashableKey(offset: 7, kind: "list"), .limitExceeded(offset: 8, limit: .nodes, maximum: 10),
        ]
        for error in errors {
            XCTAssertFalse(error.description.contains("\n"), error.description)
            XCTAssertTrue(error.description.contains("offset \(error.offset)"), error.description)
        }
        XCTAssertEqual(
            PickleError.unsupportedOpcode(offset: 2, opcode: 0x69).description,
            "pickle: opcode INST (0x69) at offset 2 is not supported by the data-only unpickler")
        XCTAssertEqual(
            PickleError.disallowedGlobal(offset: 2, name: "os.system").description,
            "pickle: global \"os.system\" at offset 2 is not in the allowlist")
    }
}
