import Foundation
import GraftPickle
import GraftTestSupport
import XCTest

/// style_safety.md §2.3 B1, B2, B3, B5, B7, B14: code execution attempts, refused opcodes and
/// invalid text. Offsets: `proto(2)` takes bytes 0–1, so the first opcode after it is at 2.
final class PickleHostileGlobalsTests: XCTestCase {
    // MARK: B1, B2: globals

    /// B1: the classic `os.system` payload (safetensors `attacks/torch_ace_create.py` style).
    func testOsSystemPayloadIsRefusedAtTheGlobalAndRunsNothing() throws {
        let dir = TestPaths.temporaryDirectory("pickle-b1")
        defer { try? FileManager.default.removeItem(at: dir) }
        let canary = dir.appendingPathComponent("pwned")
        let payload = PickleBuilder().proto(2).global("os", "system").binUnicode("touch '\(canary.path)'")
            .tuple1().reduce().stop()
        for allowed in [dataGlobals, torchGlobals, []] {
            assertRejects(payload, .disallowedGlobal(offset: 2, name: "os.system"), allowed: allowed)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: canary.path))
    }

    /// B1 at protocol 0 (no PROTO opcode), through `posix.system`.
    func testProtocol0PosixSystemPayloadIsRefused() {
        let payload = PickleBuilder().global("posix", "system").mark().unicodeLine(bytes: Array("id".utf8))
            .tuple().reduce().stop()
        assertRejects(payload, .disallowedGlobal(offset: 0, name: "posix.system"), allowed: torchGlobals)
    }

    /// B2: an allowlist, not a blocklist; every name is reported as the file spells it.
    func testDangerousCallablesAreInNoAllowlist() {
        let names = [
            ("builtins", "eval"), ("__builtin__", "exec"), ("posix", "system"), ("nt", "system"),
            ("subprocess", "Popen"), ("builtins", "getattr"), ("torch", "load"), ("numpy", "load"),
            ("builtins", "__import__"), ("pickle", "loads"), ("sys", "modules"),
            ("copy_reg", "_reconstructor"),
        ]
        for (module, name) in names {
            assertRejects(
                PickleBuilder().proto(2).global(module, name).stop(),
                .disallowedGlobal(offset: 2, name: "\(module).\(name)"), allowed: torchGlobals)
        }
    }

    /// The Python 2 mapping (`__builtin__` → `builtins`) applies below protocol 3 only, as in
    /// CPython's `fix_imports`.
    func testPython2ModuleNamesAreNotMappedFromProtocol3On() {
        assertRejects(
            PickleBuilder().proto(3).global("__builtin__", "set").stop(),
            .disallowedGlobal(offset: 2, name: "__builtin__.set"))
    }

    /// Names are matched byte for byte, prefixes and attributes of allowed names included.
    func testAllowlistMatchesExactNamesOnly() {
        let cases: [(String, String)] = [
            ("collections", "OrderedDict.fromkeys"), ("collections", "OrderedDic"),
            ("collection", "sOrderedDict"),
            ("collections ", "OrderedDict"), ("Collections", "OrderedDict"),
        ]
        for (module, name) in cases {
            assertRejects(
                PickleBuilder().proto(2).global(module, name).stop(),
                .disallowedGlobal(offset: 2, name: "\(module).\(name)"))
        }
    }

    /// Swift's `==` calls "é" and "e\u{301}" equal; the allowlist must not.
    func testCanonicallyEquivalentSpellingIsNotAllowed() {
        let decomposed = "cafe\u{301}"
        assertRejects(
            PickleBuilder().proto(2).global(decomposed, "x").stop(),
            .disallowedGlobal(offset: 2, name: "\(decomposed).x"), allowed: ["caf\u{e9}.x"])
    }

    // MARK: B3: STACK_GLOBAL

    func testStackGlobalWithANonStringOperandIsMalformed() {
        assertRejects(
            PickleBuilder().proto(4).binInt1(1).shortBinUnicode("system").stackGlobal().stop(),
            .malformed(offset: 12, reason: "STACK_GLOBAL needs two str operands, found int and str"))
        assertRejects(
            PickleBuilder().proto(4).shortBinBytes(Array("os".utf8)).shortBinUnicode("system")
                .stackGlobal().stop(),
            .malformed(offset: 14, reason: "STACK_GLOBAL needs two str operands, found bytes and str"))
    }

    func testStackGlobalWithADisallowedNameIsRefused() {
        assertRejects(
            PickleBuilder().proto(4).shortBinUnicode("os").shortBinUnicode("system").stackGlobal().stop(),
            .disallowedGlobal(offset: 14, name: "os.system"))
    }

    func testStackGlobalCannotReachBelowAMark() {
        assertRejects(
            PickleBuilder().proto(4).shortBinUnicode("os").mark().shortBinUnicode("system")
                .stackGlobal().stop(),
            .malformed(offset: 15, reason: "STACK_GLOBAL needs a value but the stack is empty"))
    }

    // MARK: B5: object construction

    func testInstIsRefused() {
        assertRejects(
            PickleBuilder().mark().op(0x69).raw(Array("os\nsystem\n".utf8)).stop(),
            .unsupportedOpcode(offset: 1, opcode: 0x69))
    }

    func testObjIsRefusedEvenForAnAllowedClass() {
        assertRejects(
            PickleBuilder().proto(2).mark().global("collections", "OrderedDict").op(0x6F).stop(),
            .unsupportedOpcode(offset: 28, opcode: 0x6F))
    }

    func testNewObjOfANonAllowlistedClassIsRefusedAtItsGlobal() {
        assertRejects(
            PickleBuilder().proto(2).global("torch.nn.modules.conv", "Conv2d").emptyTuple().newObj().stop(),
            .disallowedGlobal(offset: 2, name: "torch.nn.modules.conv.Conv2d"), allowed: torchGlobals)
    }

    func testNewObjNeedsAGlobalAndATuple() {
        assertRejects(
            PickleBuilder().proto(2).emptyList().emptyTuple().newObj().stop(),
            .malformed(offset: 4, reason: "NEWOBJ needs a global to call, found list"))
        assertRejects(
            PickleBuilder().proto(2).global("collections", "OrderedDict").emptyList().newObj().stop(),
            .malformed(offset: 28, reason: "NEWOBJ needs a tuple of arguments, found list"))
    }

    func testNewObjExWithKeywordArgumentsIsRefused() {
        let b = PickleBuilder().proto(4).global("collections", "OrderedDict").emptyTuple()
            .emptyDict().binUnicode("k").none().setItem().newObjEx().stop()
        assertRejects(b, .malformed(offset: 37, reason: "NEWOBJ_EX with keyword arguments is not supported"))
    }

    func testReduceOfSomethingThatIsNotAGlobalIsMalformed() {
        assertRejects(
            PickleBuilder().proto(2).emptyDict().emptyTuple().reduce().stop(),
            .malformed(offset: 4, reason: "REDUCE needs a global to call, found dict"))
    }

    func testBuildWithNothingToBuildIsMalformed() {
        assertRejects(
            PickleBuilder().proto(2).none().build().stop(),
            .malformed(offset: 3, reason: "BUILD needs a value but the stack is empty"))
    }

    func testCodecsEncodeOfNonLatin1TextIsMalformed() {
        let b = PickleBuilder().proto(2).global("_codecs", "encode").binUnicode("\u{2713}").binUnicode(
            "latin1"
        )
        .tuple2().reduce().stop()
        assertRejects(b, .malformed(offset: 38, reason: "_codecs.encode: text is not Latin-1"))
    }

    // MARK: B7: refused opcodes and protocols

    func testUnknownOpcodesAreUnsupported() {
        for code: UInt8 in [0xFF, 0x00, 0x99, 0x7F] {
            assertRejects(
                PickleBuilder().proto(2).op(code).stop(), .unsupportedOpcode(offset: 2, opcode: code))
        }
    }

    func testOutOfBandBuffersAreUnsupported() {
        assertRejects(PickleBuilder().proto(5).op(0x97).stop(), .unsupportedOpcode(offset: 2, opcode: 0x97))
        assertRejects(PickleBuilder().proto(5).op(0x98).stop(), .unsupportedOpcode(offset: 2, opcode: 0x98))
        let byteArray8 = PickleBuilder().proto(5).op(0x96).raw([3, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]).stop()
        assertRejects(byteArray8, .unsupportedOpcode(offset: 2, opcode: 0x96))
    }

    func testExtensionRegistryIsUnsupported() {
        assertRejects(
            PickleBuilder().proto(2).raw([0x82, 1]).stop(), .unsupportedOpcode(offset: 2, opcode: 0x82))
        assertRejects(
            PickleBuilder().proto(2).raw([0x83, 1, 0]).stop(), .unsupportedOpcode(offset: 2, opcode: 0x83))
        assertRejects(
            PickleBuilder().proto(2).raw([0x84, 1, 0, 0, 0]).stop(),
            .unsupportedOpcode(offset: 2, opcode: 0x84))
    }

    func testProtocolsAbove5AreUnsupported() {
        assertRejects(PickleBuilder().proto(6).none().stop(), .unsupportedProtocol(offset: 0, version: 6))
        assertRejects(
            PickleBuilder().proto(2).none().proto(255).stop(), .unsupportedProtocol(offset: 3, version: 255))
    }

    // MARK: B14: invalid text

    func testInvalidUTF8InEveryTextOpcodeIsInvalidString() {
        assertRejects(
            PickleBuilder().proto(2).binUnicode(bytes: [0xC3, 0x28]).stop(),
            .invalidString(offset: 2, opcode: "BINUNICODE"))
        assertRejects(
            PickleBuilder().proto(4).binUnicode8(bytes: [0xC0, 0xAF]).stop(),  // overlong "/"
            .invalidString(offset: 2, opcode: "BINUNICODE8"))
        assertRejects(
            PickleBuilder().proto(2).shortBinString([0x61, 0xFF]).stop(),
            .invalidString(offset: 2, opcode: "SHORT_BINSTRING"))
        assertRejects(
            PickleBuilder().proto(2).binString([0x80]).stop(),
            .invalidString(offset: 2, opcode: "BINSTRING"))
    }

    /// Python's BINUNICODE uses "surrogatepass"; a Swift string cannot hold a lone surrogate.
    func testEncodedSurrogatesAreInvalidString() {
        let b = PickleBuilder().proto(4).op(0x8C).raw([3, 0xED, 0xA0, 0x80]).stop()
        assertRejects(b, .invalidString(offset: 2, opcode: "SHORT_BINUNICODE"))
        assertRejects(
            PickleBuilder().unicodeLine(bytes: Array("a\\ud800".utf8)).stop(),
            .invalidString(offset: 0, opcode: "UNICODE"))
        assertRejects(
            PickleBuilder().unicodeLine(bytes: Array("\\U00110000".utf8)).stop(),
            .invalidString(offset: 0, opcode: "UNICODE"))
        assertRejects(
            PickleBuilder().unicodeLine(bytes: Array("\\u12".utf8)).stop(),
            .invalidString(offset: 0, opcode: "UNICODE"))
    }

    func testInvalidUTF8InAGlobalNameIsInvalidString() {
        let b = PickleBuilder().proto(2).op(0x63).raw([0x6F, 0x73, 0x0A, 0x73, 0xFF, 0x0A]).stop()
        assertRejects(b, .invalidString(offset: 2, opcode: "GLOBAL"))
    }

    func testProtocol0StringAndPersistentIDTextIsChecked() {
        assertRejects(
            PickleBuilder().stringLine("abc").stop(),
            .malformed(offset: 0, reason: "the STRING argument must be quoted"))
        assertRejects(
            PickleBuilder().stringLine("'abc\"").stop(),
            .malformed(offset: 0, reason: "the STRING argument must be quoted"))
        assertRejects(
            PickleBuilder().stringLine("'\\x4'").stop(), .invalidString(offset: 0, opcode: "STRING"))
        assertRejects(
            PickleBuilder().stringLine("'\\xff'").stop(), .invalidString(offset: 0, opcode: "STRING"))
        assertRejects(PickleBuilder().persID("caf\u{e9}").stop(), .invalidString(offset: 0, opcode: "PERSID"))
    }
}
