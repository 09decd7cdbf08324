/// A data-only pickle interpreter: it reads protocol 0–5 streams into inert `PickleValue`s and
/// never runs, imports or looks up code.
///
/// Globals are checked against `allowedGlobals` at the GLOBAL/STACK_GLOBAL opcode; a call of an
/// allowed global is recorded as `.call`, except `collections.OrderedDict` (a dict),
/// `builtins.set`/`frozenset` (a set), `_codecs.encode(text, "latin1")` and `builtins.bytes()`
/// (bytes), which are data. INST, OBJ, the extension registry and out-of-band buffers are
/// refused, and every resource is bounded by `limits`.
///
/// What Python would do is followed closely: mutable containers are shared between the stack
/// and the memo, `__builtin__`/`copy_reg` names are mapped below protocol 3, values left under
/// the result at STOP are ignored. Where the result would be ambiguous or unrepresentable it is
/// an error instead: a duplicate dict key (Python keeps the last), a reference cycle, a protocol-0
/// integer with a leading zero (octal in CPython's INT). Integers that fit `Int` are `.int`,
/// larger ones `.bigInt` in minimal two's complement, so equal values compare equal.
///
/// ```swift
/// let machine = PickleMachine(allowedGlobals: ["collections.OrderedDict"])
/// let (value, end) = try machine.decode(bytes)
/// ```
public struct PickleMachine: Sendable {
    /// Allowed globals as "module.name" ("torch._utils._rebuild_tensor_v2").
    public let allowedGlobals: Set<String>
    public let limits: PickleLimits
    private let allowedGlobalBytes: Set<[UInt8]>

    public init(allowedGlobals: Set<String>, limits: PickleLimits = .default) {
        self.allowedGlobals = allowedGlobals
        self.limits = limits
        self.allowedGlobalBytes = Set(allowedGlobals.map { Array($0.utf8) })
    }

    /// Decodes the one pickle that starts at `offset` and returns its value with the offset just
    /// past its STOP. Bytes after STOP are not looked at: the legacy torch format concatenates
    /// several pickles, and callers decide what trailing data means.
    public func decode(_ bytes: UnsafeRawBufferPointer, from offset: Int = 0) throws -> (
        value: PickleValue, end: Int
    ) {
        guard offset >= 0, offset <= bytes.count else {
            throw PickleError.malformed(
                offset: offset, reason: "start offset is outside the \(bytes.count) input bytes")
        }
        var interpreter = PickleInterpreter(
            bytes: bytes, offset: offset, allowedGlobals: allowedGlobalBytes, limits: limits)
        let (value, end) = try interpreter.run()
        return (value, end)
    }

    /// `decode` over an array.
    public func decode(_ bytes: [UInt8], from offset: Int = 0) throws -> (value: PickleValue, end: Int) {
        try bytes.withUnsafeBytes { try decode($0, from: offset) }
    }
}
