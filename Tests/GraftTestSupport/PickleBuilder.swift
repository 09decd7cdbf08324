/// Builds pickle byte streams opcode by opcode, so that each hostile case in a test is one
/// readable line: `PickleBuilder().proto(2).global("os", "system").binUnicode("x").tuple1()
/// .reduce().stop()`.
///
/// Arguments are written exactly as given, lengths included, so a builder can also lie (a
/// BINUNICODE that claims 1e9 bytes, a FRAME longer than the file). A class, so that long
/// streams are built by appending in place.
public final class PickleBuilder {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Raw bytes (an unknown opcode, a truncated tail).
    @discardableResult
    public func raw(_ b: [UInt8]) -> Self {
        bytes.append(contentsOf: b)
        return self
    }

    @discardableResult
    public func op(_ code: UInt8) -> Self { raw([code]) }

    /// Runs `body` `n` times (for deep nesting and long streams).
    @discardableResult
    public func repeated(_ n: Int, _ body: (PickleBuilder) -> Void) -> Self {
        for _ in 0..<n { body(self) }
        return self
    }

    private func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }

    private func line(_ code: UInt8, _ text: String) -> Self { op(code).raw(Array(text.utf8) + [0x0A]) }

    // MARK: Framing and stack
    @discardableResult public func proto(_ v: UInt8) -> Self { raw([0x80, v]) }
    @discardableResult public func frame(_ length: UInt64) -> Self { op(0x95).raw(le(length)) }
    @discardableResult public func stop() -> Self { op(0x2E) }
    @discardableResult public func mark() -> Self { op(0x28) }
    @discardableResult public func pop() -> Self { op(0x30) }
    @discardableResult public func popMark() -> Self { op(0x31) }
    @discardableResult public func dup() -> Self { op(0x32) }

    // MARK: Scalars
    @discardableResult public func none() -> Self { op(0x4E) }
    @discardableResult public func newTrue() -> Self { op(0x88) }
    @discardableResult public func newFalse() -> Self { op(0x89) }
    @discardableResult public func binInt1(_ v: UInt8) -> Self { raw([0x4B, v]) }
    @discardableResult public func binInt2(_ v: UInt16) -> Self { op(0x4D).raw(le(v)) }
    @discardableResult public func binInt(_ v: Int32) -> Self { op(0x4A).raw(le(v)) }
    /// LONG1 with `count` bytes declared (defaults to the real count).
    @discardableResult public func long1(_ b: [UInt8], count: UInt8? = nil) -> Self {
        op(0x8A).raw([count ?? UInt8(b.count)]).raw(b)
    }
    @discardableResult public func long4(_ b: [UInt8], count: Int32? = nil) -> Self {
        op(0x8B).raw(le(count ?? Int32(b.count))).raw(b)
    }
    /// INT/LONG/FLOAT with a text argument ("42", "01", "123L", "1.5").
    @discardableResult public func intLine(_ text: String) -> Self { line(0x49, text) }
    @discardableResult public func longLine(_ text: String) -> Self { line(0x4C, text) }
    @discardableResult public func floatLine(_ text: String) -> Self { line(0x46, text) }
    /// BINFLOAT: big-endian IEEE-754.
    @discardableResult public func binFloat(_ d: Double) -> Self {
        op(0x47).raw(withUnsafeBytes(of: d.bitPattern.bigEndian) { Array($0) })
    }

    // MARK: Text and bytes
    @discardableResult public func binUnicode(_ s: String) -> Self { binUnicode(bytes: Array(s.utf8)) }
    /// BINUNICODE with raw content and an optional lying length.
    @discardableResult public func binUnicode(bytes b: [UInt8], length: UInt32? = nil) -> Self {
        op(0x58).raw(le(length ?? UInt32(b.count))).raw(b)
    }
    @discardableResult public func shortBinUnicode(_ s: String) -> Self {
        op(0x8C).raw([UInt8(s.utf8.count)]).raw(Array(s.utf8))
    }
    @discardableResult public func binUnicode8(bytes b: [UInt8], length: UInt64? = nil) -> Self {
        op(0x8D).raw(le(length ?? UInt64(b.count))).raw(b)
    }
    @discardableResult public func shortBinString(_ b: [UInt8]) -> Self {
        raw([0x55, UInt8(b.count)]).raw(b)
    }
    @discardableResult public func binString(_ b: [UInt8], length: Int32? = nil) -> Self {
        op(0x54).raw(le(length ?? Int32(b.count))).raw(b)
    }
    /// STRING with its argument written verbatim (quotes and escapes included).
    @discardableResult public func stringLine(_ text: String) -> Self { line(0x53, text) }
    /// UNICODE with raw bytes before the newline.
    @discardableResult public func unicodeLine(bytes b: [UInt8]) -> Self { op(0x56).raw(b + [0x0A]) }
    @discardableResult public func binBytes(_ b: [UInt8], length: UInt32? = nil) -> Self {
        op(0x42).raw(le(length ?? UInt32(b.count))).raw(b)
    }
    @discardableResult public func shortBinBytes(_ b: [UInt8]) -> Self { raw([0x43, UInt8(b.count)]).raw(b) }
    @discardableResult public func binBytes8(_ b: [UInt8], length: UInt64? = nil) -> Self {
        op(0x8E).raw(le(length ?? UInt64(b.count))).raw(b)
    }

    // MARK: Containers
    @discardableResult public func emptyTuple() -> Self { op(0x29) }
    @discardableResult public func tuple() -> Self { op(0x74) }
    @discardableResult public func tuple1() -> Self { op(0x85) }
    @discardableResult public func tuple2() -> Self { op(0x86) }
    @discardableResult public func tuple3() -> Self { op(0x87) }
    @discardableResult public func emptyList() -> Self { op(0x5D) }
    @discardableResult public func list() -> Self { op(0x6C) }
    @discardableResult public func append() -> Self { op(0x61) }
    @discardableResult public func appends() -> Self { op(0x65) }
    @discardableResult public func emptyDict() -> Self { op(0x7D) }
    @discardableResult public func dict() -> Self { op(0x64) }
    @discardableResult public func setItem() -> Self { op(0x73) }
    @discardableResult public func setItems() -> Self { op(0x75) }
    @discardableResult public func emptySet() -> Self { op(0x8F) }
    @discardableResult public func addItems() -> Self { op(0x90) }
    @discardableResult public func frozenSet() -> Self { op(0x91) }

    // MARK: Globals and objects
    @discardableResult public func global(_ module: String, _ name: String) -> Self {
        op(0x63).raw(Array(module.utf8) + [0x0A] + Array(name.utf8) + [0x0A])
    }
    @discardableResult public func stackGlobal() -> Self { op(0x93) }
    @discardableResult public func reduce() -> Self { op(0x52) }
    @discardableResult public func build() -> Self { op(0x62) }
    @discardableResult public func newObj() -> Self { op(0x81) }
    @discardableResult public func newObjEx() -> Self { op(0x92) }
    @discardableResult public func persID(_ text: String) -> Self { line(0x50, text) }
    @discardableResult public func binPersID() -> Self { op(0x51) }

    // MARK: Memo
    @discardableResult public func put(_ text: String) -> Self { line(0x70, text) }
    @discardableResult public func get(_ text: String) -> Self { line(0x67, text) }
    @discardableResult public func binPut(_ i: UInt8) -> Self { raw([0x71, i]) }
    @discardableResult public func binGet(_ i: UInt8) -> Self { raw([0x68, i]) }
    @discardableResult public func longBinPut(_ i: UInt32) -> Self { op(0x72).raw(le(i)) }
    @discardableResult public func longBinGet(_ i: UInt32) -> Self { op(0x6A).raw(le(i)) }
    @discardableResult public func memoize() -> Self { op(0x94) }
}
