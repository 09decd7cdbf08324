import Foundation
import GraftTestSupport

/// Containers around the pickle: zip tricks, cuts and flipped bytes of committed checkpoints, pickle
/// streams that attack the machine itself, and the legacy single-stream format.
enum ContainerCases {
    typealias T = TorchBytes
    static let C = CheckpointCommands.self

    /// (name, edit of the good archive, reason).
    static let zipTricks: [(String, @Sendable (inout ZipBuilder) -> Void, [String])] = [
        ("central_name_differs", { $0.members[0].centralName = Array("archive/data.pkx".utf8) }, ["inconsisten"]),
        ("central_crc_differs", { $0.members[0].centralCRC32 = $0.members[0].crc32 ^ 1 }, ["inconsisten"]),
        ("central_method_differs", { $0.members[0].centralMethod = 8 }, ["inconsisten"]),
        ("central_size_differs", { $0.members[0].centralCompressedSize = 3 }, ["inconsisten"]),
        ("count_too_high", { $0.entryCountOverride = 9 }, ["inconsisten", "entries"]),
        ("count_too_low", { $0.entryCountOverride = 1 }, ["inconsisten", "entries"]),
        ("count_max", { $0.entryCountOverride = 0xFFFF }, ["inconsisten", "entries"]),
        ("cd_offset_past_end", { $0.centralDirectoryOffsetDelta = 1 << 20 }, ["zip"]),
        ("cd_size_overlaps_end", { $0.centralDirectorySizeDelta = 30 }, ["zip"]),
        ("shared_local_header", { b in
            var m = ZipBuilder.Member(name: "archive/extra", data: [])
            m.sharesLocalHeaderOf = 0
            b.members.append(m)
        }, ["inconsisten", "overlap", "share"]),
        ("duplicate_name", { $0.members.append(ZipBuilder.Member(name: "archive/version", data: Array("3\n".utf8))) },
         ["duplicate"]),
        ("crc_wrong", { $0.members[0].crc32 ^= 0xDEAD_BEEF; $0.members[0].centralCRC32 = $0.members[0].crc32 }, ["CRC"]),
        ("crc_zero", { $0.members[0].crc32 = 0; $0.members[0].centralCRC32 = 0 }, ["CRC"]),
        ("method_99", { $0.members[0].method = 99 }, ["inconsistent zip archive", "compression method"]),
        ("encrypted_flag", { $0.members[0].flags |= 1 }, ["encrypt"]),
        ("name_dotdot", { $0.members.append(ZipBuilder.Member(name: "archive/../../etc/x", data: [1])) }, ["parent", ".."]),
        ("name_absolute", { $0.members.append(ZipBuilder.Member(name: "/etc/passwd", data: [1])) }, ["absolute"]),
        ("name_backslash", { $0.members.append(ZipBuilder.Member(name: "archive\\x", data: [1])) }, ["backslash"]),
        ("name_nul", { b in
            var m = ZipBuilder.Member(name: "archive/x", data: [1])
            // libzip reads a NUL as a space: the name is then judged as it reads.
            m.name = Array("archive/x".utf8) + [0] + Array("/../../y".utf8)
            b.members.append(m)
        }, ["'..'"]),
        ("name_not_utf8", { b in
            var m = ZipBuilder.Member(name: "archive/x", data: [1])
            m.name = Array("archive/".utf8) + [0xFF, 0xFE]
            b.members.append(m)
        }, ["not valid UTF-8"]),
        ("name_flagged_utf8_not", { b in
            var m = ZipBuilder.Member(name: "archive/x", data: [1])
            m.name = Array("archive/".utf8) + [0xC3, 0x28]
            m.flags |= 0x800  // libzip itself refuses a name flagged UTF-8 that is not
            b.members.append(m)
        }, ["inconsistent zip archive"]),
        ("name_64k", { $0.members.append(ZipBuilder.Member(name: "archive/" + String(repeating: "n", count: 65_000), data: [1])) },
         ["name"]),
        ("deflate_bomb_declared", { b in
            // The tensor's own record, deflated, declaring 1 TiB: refused before inflating.
            var m = ZipBuilder.Member(name: "archive/data/0", data: ZipBuilder.storedDeflate(T.floats(4)), method: 8,
                                      uncompressed: T.floats(4))
            m.uncompressedSize = 1 << 40
            m.centralUncompressedSize = 1 << 40
            b.members[1] = m
        }, ["bomb", "size", "inconsisten"]),
        ("zip64_locator_elsewhere", { $0.zip64EndRecord = true; $0.zip64LocatorOffsetDelta = -7 }, ["zip", "ZIP64"]),
        ("junk_after_end", { $0.trailing = Array(repeating: 0x41, count: 100) }, ["zip", "junk", "trailing"]),
    ]

    /// A committed checkpoint cut at fractions of its length: every cut is refused, as a truncated or
    /// not-a-zip file, never read as a shorter checkpoint.
    static let cutFractions: [Double] = [0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999]
    static let cutReasons = ["truncated", "not a", "zip", "Zip", "end of", "short", "CRC", "unknown format", "inconsisten"]

    /// Pickle streams that attack the unpickler: depth, lengths, memo, opcodes (in `archive/data.pkl`).
    static let pickles: [(String, @Sendable () -> [UInt8], [String])] = [
        ("deep_lists", { PickleBuilder().proto(2).repeated(200_000) { $0.emptyList() }.repeated(199_999) { $0.append() }.stop().bytes },
         ["levels of nesting", "limit"]),
        ("deep_marks", { PickleBuilder().proto(2).repeated(200_000) { $0.mark() }.stop().bytes }, ["MARK", "mark", "limit", "deep"]),
        ("nested_tuples", { PickleBuilder().proto(2).none().repeated(100_000) { $0.tuple1() }.stop().bytes }, ["limit", "deep", "nest"]),
        ("binunicode_4g", { PickleBuilder().proto(2).binUnicode(bytes: Array("abc".utf8), length: 0xFFFF_FFF0).stop().bytes },
         ["truncated", "past the end", "beyond", "exceeds", "length"]),
        ("binunicode8_2e62", { PickleBuilder().proto(4).binUnicode8(bytes: [0x61], length: 1 << 62).stop().bytes },
         ["truncated", "past the end", "beyond", "exceeds", "length", "limit"]),
        ("binbytes8_2e62", { PickleBuilder().proto(4).binBytes8([1], length: 1 << 62).stop().bytes },
         ["truncated", "past the end", "beyond", "exceeds", "length", "limit"]),
        ("long4_1e9", { PickleBuilder().proto(2).long4([1, 2], count: 1_000_000_000).stop().bytes },
         ["truncated", "past the end", "beyond", "exceeds", "length", "limit", "LONG4"]),
        ("memo_get_missing", { PickleBuilder().proto(2).binGet(7).stop().bytes }, ["memo"]),
        // A memo slot far out is a sparse entry, not a 2^31-slot table: the pickle reads, and holds no tensor.
        ("memo_put_2e31", { PickleBuilder().proto(2).none().longBinPut(0x7FFF_FFFF).stop().bytes }, ["no tensors found"]),
        ("unknown_opcode", { PickleBuilder().proto(2).raw([0xFF]).stop().bytes }, ["opcode"]),
        ("no_stop", { PickleBuilder().proto(2).none().bytes }, ["STOP", "truncated", "end"]),
        ("empty_pickle", { [] }, ["empty", "truncated", "end", "STOP"]),
        ("protocol_9", { PickleBuilder().proto(9).none().stop().bytes }, ["protocol"]),
        ("frame_past_end", { PickleBuilder().proto(4).frame(1 << 40).none().stop().bytes }, ["FRAME", "frame", "truncated"]),
        ("pop_empty_stack", { PickleBuilder().proto(2).pop().stop().bytes }, ["stack", "empty", "underflow"]),
        ("stop_empty_stack", { PickleBuilder().proto(2).stop().bytes }, ["stack", "empty", "underflow"]),
        ("setitem_on_list", { PickleBuilder().proto(2).emptyList().none().none().setItem().stop().bytes }, ["SETITEM", "dict", "list"]),
        ("append_on_dict", { PickleBuilder().proto(2).emptyDict().none().append().stop().bytes }, ["APPEND", "list", "dict"]),
        ("dup_storm", { PickleBuilder().proto(2).none().repeated(3_000_000) { $0.dup() }.stop().bytes }, ["stack", "limit"]),
        ("int_leading_zero", { PickleBuilder().proto(0).intLine("007").stop().bytes }, ["INT", "007"]),
        ("string_unquoted", { PickleBuilder().proto(0).stringLine("abc").stop().bytes }, ["STRING", "quote"]),
        ("persid_unsupported", { PickleBuilder().proto(0).persID("x").stop().bytes }, ["persistent"]),
        ("build_on_none", { PickleBuilder().proto(2).none().emptyDict().build().stop().bytes }, ["BUILD", "None", "build"]),
        ("newobj_unknown", { PickleBuilder().proto(2).global("collections", "OrderedDict").emptyTuple().emptyTuple().newObjEx().stop().bytes },
         ["NEWOBJ", "OrderedDict", "tensor"]),
    ]

    /// (name, legacy stream, reason): torch ≤ 1.5's format.
    static let legacy: [(String, @Sendable () throws -> [UInt8], [String])] = [
        ("legacy_reduce_os_system", { try T.legacy(object: T.reduce("os", "system")) }, ["os.system"]),
        ("legacy_reduce_eval", { try T.legacy(object: T.reduce("builtins", "eval")) }, ["builtins.eval"]),
        ("legacy_bad_magic", { Mutate.flipped(try Mutate.fixture("pickle/legacy_linear.pt"), at: 5) }, ["magic", "unknown format", "not a"]),
        ("legacy_protocol_1002", { try T.legacy(object: PickleBuilder().proto(2).emptyDict().stop().bytes, protocolVersion: 1002) },
         ["1001", "protocol"]),
        ("legacy_unused_storage", { try T.legacy(object: PickleBuilder().proto(2).emptyDict().stop().bytes, keys: ["0"]) },
         ["storage '0'"]),
    ]

    static var cases: [HostileCase] {
        var out: [HostileCase] = []
        for (i, (name, edit, reasons)) in zipTricks.enumerated() {
            out.append(HostileCase("zip.\(name)", .bytes("\(name).pth", { try T.zipTrick(edit) }), C.nth(i), reasons))
        }
        for (i, f) in cutFractions.enumerated() {
            let tag = String(format: "%05d", Int(f * 10_000))
            out.append(HostileCase("cut.resnet18.\(tag)", .bytes("resnet18_cut\(tag).pth", {
                Mutate.truncated(try Mutate.fixture("torch/resnet18_mini.pth"), fraction: f)
            }), C.nth(i), cutReasons))
            out.append(HostileCase("cut.tiny_state.\(tag)", .bytes("tiny_cut\(tag).pth", {
                Mutate.truncated(try Mutate.fixture("zip/tiny_state.pth"), fraction: f)
            }), C.inspect, cutReasons))
            out.append(HostileCase("cut.legacy.\(tag)", .bytes("legacy_cut\(tag).pt", {
                Mutate.truncated(try Mutate.fixture("pickle/legacy_linear.pt"), fraction: f)
            }), i % 2 == 0 ? C.inspect : C.convert, cutReasons + ["pickle", "storage", "magic", "STOP", "opcode"]))
        }
        // A flipped byte at twelve places in the tensor data (most of the file): a record's CRC no longer matches.
        for k in 0..<12 {
            out.append(HostileCase("flip.resnet18.at\(20 + 5 * k)pct", .bytes("resnet18_flip\(k).pth", {
                let bytes = try Mutate.fixture("torch/resnet18_mini.pth")
                return Mutate.flipped(bytes, at: bytes.count * (20 + 5 * k) / 100)
            }), k % 3 == 0 ? C.inspect : C.nth(k), ["CRC mismatch"]))
        }
        for (i, (name, bytes, reasons)) in pickles.enumerated() {
            out.append(HostileCase("pickle.\(name)", .bytes("\(name).pth", { T.zip(rawPickle: bytes()) }), C.nth(i), reasons))
        }
        // A bare pickle is no format Graft reads: it is refused by its first bytes, never unpickled.
        for (i, (module, name)) in TorchCases.forbidden.enumerated() {
            out.append(HostileCase("rawpickle.\(module).\(name)", .bytes("raw_\(module)_\(name).pkl", { T.reduce(module, name) }),
                                   i % 2 == 0 ? C.inspect : C.convert, ["unknown format"]))
        }
        for (i, (name, bytes, reasons)) in legacy.enumerated() {
            out.append(HostileCase("legacy.\(name)", .bytes("\(name).pt", bytes), C.nth(i + 2), reasons))
        }
        return out
    }
}
