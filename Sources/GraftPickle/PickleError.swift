/// Why a pickle stream was refused. Every case carries the byte offset of the opcode at fault
/// (for errors found while assembling the result at STOP: the opcode that created the object).
public enum PickleError: Error, CustomStringConvertible, Equatable {
    /// An opcode's argument runs past the end of the input, or a FRAME claims more bytes than
    /// remain.
    case truncated(offset: Int, opcode: String)
    /// PROTO names a protocol above 5.
    case unsupportedProtocol(offset: Int, version: Int)
    /// An opcode that is unknown, or that this data-only machine refuses on purpose (INST, OBJ,
    /// EXT1/2/4, out-of-band buffers).
    case unsupportedOpcode(offset: Int, opcode: UInt8)
    /// GLOBAL/STACK_GLOBAL named something outside the allowlist ("os.system").
    case disallowedGlobal(offset: Int, name: String)
    /// The stream is not a well-formed data pickle: stack underflow, a missing MARK, an operand
    /// of the wrong type, no STOP, a reference cycle, …
    case malformed(offset: Int, reason: String)
    /// GET of a memo slot that was never set.
    case badMemoReference(offset: Int, index: Int)
    /// Text that is not valid UTF-8 (or is a surrogate), or a bad escape in protocol-0 text.
    case invalidString(offset: Int, opcode: String)
    /// One dict received the same key twice.
    case duplicateKey(offset: Int, key: String)
    /// A dict key or set element that is not hashable data.
    case unhashableKey(offset: Int, kind: String)
    /// A `PickleLimits` field was exceeded.
    case limitExceeded(offset: Int, limit: PickleLimit, maximum: Int)

    /// The byte offset the error refers to.
    public var offset: Int {
        switch self {
        case .truncated(let o, _), .unsupportedProtocol(let o, _), .unsupportedOpcode(let o, _),
            .disallowedGlobal(let o, _), .malformed(let o, _), .badMemoReference(let o, _),
            .invalidString(let o, _), .duplicateKey(let o, _), .unhashableKey(let o, _),
            .limitExceeded(let o, _, _):
            return o
        }
    }

    public var description: String {
        switch self {
        case .truncated(let o, let op):
            return "pickle: \(op) at offset \(o) runs past the end of the input (truncated)"
        case .unsupportedProtocol(let o, let v):
            return "pickle: protocol \(v) at offset \(o) is not supported (0 to 5 are)"
        case .unsupportedOpcode(let o, let code):
            return "pickle: opcode \(PickleOpcode.displayName(code)) at offset \(o) is not supported"
                + " by the data-only unpickler"
        case .disallowedGlobal(let o, let name):
            return "pickle: global \(PickleText.escaped(name)) at offset \(o) is not in the allowlist"
        case .malformed(let o, let reason):
            return "pickle: malformed stream at offset \(o): \(reason)"
        case .badMemoReference(let o, let i):
            return "pickle: memo slot \(i) read at offset \(o) was never set"
        case .invalidString(let o, let op):
            return "pickle: \(op) at offset \(o) holds text that is not valid UTF-8"
        case .duplicateKey(let o, let key):
            return "pickle: dict key \(key) is set twice (offset \(o))"
        case .unhashableKey(let o, let kind):
            return "pickle: a \(kind) cannot be a dict key or set element (offset \(o))"
        case .limitExceeded(let o, let limit, let max):
            return "pickle: more than \(max) \(limit.noun) at offset \(o) (limit \(limit))"
        }
    }
}
