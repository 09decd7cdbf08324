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
    ///
    /// The product of the dimensions with zeros counted as one (the extent contiguous strides span) must
    /// fit too: otherwise [0, 2^40, 2^40] would pass while [2^40, 2^40, 0] fails, and a zero-element
    /// tensor would carry dimensions whose strides no later stage can compute.
    public static func elementCount(_ shape: [Int]) -> Int? {
        extent(shape).map { shape.contains(0) ? 0 : $0 }
    }

    /// `elementCount(shape) * itemSize`, or nil on a negative dimension or overflow (the extent times
    /// the item size must fit as well, for the same reason).
    public static func byteCount(_ shape: [Int], itemSize: Int) -> Int? {
        guard let e = extent(shape), mul(e, itemSize) != nil else { return nil }
        return shape.contains(0) ? 0 : e * itemSize
    }

    /// The product of the dimensions with zeros counted as one, or nil on a negative one or overflow.
    public static func extent(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0, let m = mul(n, max(d, 1)) else { return nil }
            n = m
        }
        return n
    }

    /// An `Int` from a file-declared unsigned 64-bit value, or nil if it does not fit.
    @inlinable
    public static func int(_ v: UInt64) -> Int? { Int(exactly: v) }
}
