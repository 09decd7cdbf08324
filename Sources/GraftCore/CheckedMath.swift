/// Overflow-checked arithmetic for sizes that come from files.
///
/// Swift traps on overflow, so every product or sum built from a declared shape, stride, offset or
/// length goes through these helpers and turns overflow into `nil` for the caller to report.
public enum Checked {
    /// `a * b`, or nil on overflow.
    @inlinable
    public static func mul(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : r
    }

    /// `a + b`, or nil on overflow.
    @inlinable
    public static func add(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? nil : r
    }

    /// The product of non-negative dimensions, or nil if any is negative or the product overflows.
    public static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0, let m = mul(n, d) else { return nil }
            n = m
        }
        return n
    }

    /// `elementCount(shape) * itemSize`, or nil on a negative dimension or overflow.
    public static func byteCount(_ shape: [Int], itemSize: Int) -> Int? {
        elementCount(shape).flatMap { mul($0, itemSize) }
    }

    /// An `Int` from a file-declared unsigned 64-bit value, or nil if it does not fit.
    @inlinable
    public static func int(_ v: UInt64) -> Int? { Int(exactly: v) }
}
