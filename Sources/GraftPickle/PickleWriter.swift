/// Why a `PickleValue` cannot be written.
public enum PickleWriterError: Error, CustomStringConvertible, Equatable {
    /// The value has no protocol-2 encoding (a global name with a newline, a string over 4 GiB).
    case unrepresentable(String)

    public var description: String {
        switch self {
        case .unrepresentable(let reason): return "pickle writer: \(reason)"
        }
    }
}

/// Encodes a `PickleValue` as a protocol-2 pickle, opcode for opcode what CPython's pickler
/// writes with memoization off (`Pickler.fast`), so `torch.load(weights_only=True)` and every
/// Python since 2.3 read it.
///
/// `.call(m, n, args)` becomes `GLOBAL m n`, the argument tuple and REDUCE (so
/// `.call(module: "collections", name: "OrderedDict", args: [])` is torch's `backward_hooks`);
/// `.bytes` becomes `_codecs.encode(latin1 text, "latin1")` as in CPython protocol 2; `.set`
/// becomes `builtins.set([…])`; `.persistentID(x)` is `x` and BINPERSID.
public struct PickleWriter: Sendable {
    /// CPython's batch size for APPENDS and SETITEMS.
    static let batchSize = 1000

    public init() {}

    /// The complete pickle: PROTO 2, the value, STOP.
    public func encode(_ value: PickleValue) throws -> [UInt8] {
        var out: [UInt8] = [PickleOpcode.proto.rawValue, 2]
        try write(value, into: &out)
        out.append(PickleOpcode.stop.rawValue)
        return out
    }

    private func write(_ value: PickleValue, into out: inout [UInt8]) throws {
        switch value {
        case .none: out.append(PickleOpcode.none.rawValue)
        case .bool(let b): out.append(b ? PickleOpcode.newTrue.rawValue : PickleOpcode.newFalse.rawValue)
        case .int(let v): writeInt(v, into: &out)
        case .bigInt(let bytes): try writeLong(bytes, into: &out)
        case .float(let d):
            out.append(PickleOpcode.binFloat.rawValue)
            append(d.bitPattern.bigEndian, into: &out)
        case .string(let s): try writeString(s, into: &out)
        case .bytes(let b):
            // CPython protocol 2: `_codecs.encode(b.decode("latin1"), "latin1")`.
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: b.map { Unicode.Scalar($0) })
            let text = PickleValue.string(String(scalars))
            try writeCall(module: "_codecs", name: "encode", args: [text, .string("latin1")], into: &out)
        case .tuple(let items): try writeTuple(items, into: &out)
        case .list(let items):
            out.append(PickleOpcode.emptyList.rawValue)
            try writeBatches(items.count, into: &out, single: .append, many: .appends) { i, out in
                try write(items[i], into: &out)
            }
        case .set(let items):
            try writeCall(module: "builtins", name: "set", args: [.list(items)], into: &out)
        case .dict(let entries):
            out.append(PickleOpcode.emptyDict.rawValue)
            try writeBatches(entries.count, into: &out, single: .setItem, many: .setItems) { i, out in
                try write(entries[i].key, into: &out)
                try write(entries[i].value, into: &out)
            }
        case .global(let module, let name): try writeGlobal(module: module, name: name, into: &out)
        case .call(let module, let name, let args):
            try writeCall(module: module, name: name, args: args, into: &out)
        case .built(let object, let state):
            try write(object, into: &out)
            try write(state, into: &out)
            out.append(PickleOpcode.build.rawValue)
        case .persistentID(let id):
            try write(id, into: &out)
            out.append(PickleOpcode.binPersID.rawValue)
        }
    }

    /// BININT1, BININT2, BININT or LONG1, the smallest that holds `v`, as CPython chooses.
    private func writeInt(_ v: Int, into out: inout [UInt8]) {
        if v >= 0 && v <= 0xFF {
            out.append(PickleOpcode.binInt1.rawValue)
            out.append(UInt8(truncatingIfNeeded: v))
        } else if v >= 0 && v <= 0xFFFF {
            out.append(PickleOpcode.binInt2.rawValue)
            append(UInt16(truncatingIfNeeded: v).littleEndian, into: &out)
        } else if let v32 = Int32(exactly: v) {
            out.append(PickleOpcode.binInt.rawValue)
            append(v32.littleEndian, into: &out)
        } else {
            let bytes = PickleInteger.bytes(of: v)
            out.append(PickleOpcode.long1.rawValue)
            out.append(UInt8(truncatingIfNeeded: bytes.count))
            out.append(contentsOf: bytes)
        }
    }

    private func writeLong(_ bytes: [UInt8], into out: inout [UInt8]) throws {
        if bytes.count < 256 {
            out.append(PickleOpcode.long1.rawValue)
            out.append(UInt8(truncatingIfNeeded: bytes.count))
        } else {
            guard let n = Int32(exactly: bytes.count) else {
                throw PickleWriterError.unrepresentable(
                    "an int of \(bytes.count) bytes is too long for LONG4")
            }
            out.append(PickleOpcode.long4.rawValue)
            append(n.littleEndian, into: &out)
        }
        out.append(contentsOf: bytes)
    }

    private func writeString(_ s: String, into out: inout [UInt8]) throws {
        let utf8 = s.utf8
        guard let n = UInt32(exactly: utf8.count) else {
            throw PickleWriterError.unrepresentable("a str of \(utf8.count) bytes is too long for BINUNICODE")
        }
        out.append(PickleOpcode.binUnicode.rawValue)
        append(n.littleEndian, into: &out)
        out.append(contentsOf: utf8)
    }

    private func writeTuple(_ items: [PickleValue], into out: inout [UInt8]) throws {
        switch items.count {
        case 0:
            out.append(PickleOpcode.emptyTuple.rawValue)
        case 1...3:
            for item in items { try write(item, into: &out) }
            out.append(PickleOpcode.tuple1.rawValue + UInt8(items.count - 1))
        default:
            out.append(PickleOpcode.mark.rawValue)
            for item in items { try write(item, into: &out) }
            out.append(PickleOpcode.tuple.rawValue)
        }
    }

    /// Items as CPython's C pickler writes an exact list or dict (`batch_list_exact`,
    /// `batch_dict_exact`): one item alone with APPEND/SETITEM, otherwise batches of `batchSize`,
    /// each MARK … APPENDS/SETITEMS (a last batch of one included).
    private func writeBatches(
        _ count: Int, into out: inout [UInt8], single: PickleOpcode, many: PickleOpcode,
        item: (Int, inout [UInt8]) throws -> Void
    ) throws {
        if count == 1 {
            try item(0, &out)
            out.append(single.rawValue)
            return
        }
        var start = 0
        while start < count {
            let end = min(start + Self.batchSize, count)
            out.append(PickleOpcode.mark.rawValue)
            for i in start..<end { try item(i, &out) }
            out.append(many.rawValue)
            start = end
        }
    }

    private func writeGlobal(module: String, name: String, into out: inout [UInt8]) throws {
        for part in [module, name] where part.isEmpty || part.utf8.contains(0x0A) {
            throw PickleWriterError.unrepresentable(
                "global name \(PickleText.escaped(part)) is empty or has a newline")
        }
        out.append(PickleOpcode.global.rawValue)
        out.append(contentsOf: module.utf8)
        out.append(0x0A)
        out.append(contentsOf: name.utf8)
        out.append(0x0A)
    }

    private func writeCall(module: String, name: String, args: [PickleValue], into out: inout [UInt8]) throws
    {
        try writeGlobal(module: module, name: name, into: &out)
        try writeTuple(args, into: &out)
        out.append(PickleOpcode.reduce.rawValue)
    }

    private func append<T: FixedWidthInteger>(_ v: T, into out: inout [UInt8]) {
        withUnsafeBytes(of: v) { out.append(contentsOf: $0) }
    }
}
