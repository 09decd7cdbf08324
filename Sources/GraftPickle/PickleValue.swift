/// An inert value decoded from a pickle stream.
///
/// The pickle machine builds these and nothing else: a global is a pair of names, a call is a
/// record of "this allowlisted callable with these arguments", a persistent id is the data the
/// writer attached. Interpreting any of them (a torch tensor rebuild, a storage reference) is the
/// caller's job, done on data, so no byte of a file can make code run.
public indirect enum PickleValue: Sendable, Equatable {
    case none
    case bool(Bool)
    /// An integer that fits in `Int` (every size, stride and offset a checkpoint may use).
    case int(Int)
    /// An integer beyond 64 bits (LONG1/LONG4), kept as little-endian two's-complement bytes.
    /// Callers that need an `Int` reject it.
    case bigInt([UInt8])
    case float(Double)
    /// `str`; also Python 2 byte strings (STRING/BINSTRING/SHORT_BINSTRING), decoded as UTF-8 as
    /// `torch.load` does.
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    case set([PickleValue])
    /// A `dict` or `collections.OrderedDict`, in insertion order, keys unique. A `BUILD` on an
    /// OrderedDict sets instance attributes (torch's `_metadata`), which are not items and are
    /// not kept here.
    case dict([PickleDictEntry])
    /// A `GLOBAL`/`STACK_GLOBAL` reference that was not called.
    case global(module: String, name: String)
    /// `REDUCE`/`NEWOBJ` of an allowlisted global: `module.name(*args)`, recorded, not run.
    case call(module: String, name: String, args: [PickleValue])
    /// `BUILD` applied to something other than a dict: the object and its state.
    case built(PickleValue, state: PickleValue)
    /// The argument of `BINPERSID`/`PERSID` (torch: a `('storage', …)` tuple).
    case persistentID(PickleValue)
}

public struct PickleDictEntry: Sendable, Equatable {
    public var key: PickleValue
    public var value: PickleValue

    public init(key: PickleValue, value: PickleValue) {
        self.key = key
        self.value = value
    }
}

extension PickleValue {
    public var intValue: Int? {
        switch self {
        case .int(let v): return v
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The elements of a tuple or list.
    public var sequenceValue: [PickleValue]? {
        switch self {
        case .tuple(let a), .list(let a): return a
        default: return nil
        }
    }

    public var dictEntries: [PickleDictEntry]? {
        if case .dict(let e) = self { return e }
        return nil
    }

    /// The dotted name of a global or called global (`torch._utils._rebuild_tensor_v2`).
    public var qualifiedName: String? {
        switch self {
        case .global(let m, let n), .call(let m, let n, _): return "\(m).\(n)"
        default: return nil
        }
    }

    /// A short human-readable kind, for error messages ("tuple", "torch.FloatStorage", …).
    public var kindDescription: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .set: return "set"
        case .dict: return "dict"
        case .global(let m, let n): return "global \(m).\(n)"
        case .call(let m, let n, _): return "\(m).\(n)(…)"
        case .built(let o, _): return "built \(o.kindDescription)"
        case .persistentID: return "persistent id"
        }
    }
}
