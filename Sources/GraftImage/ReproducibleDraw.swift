import GraftCore

/// Draws defined here rather than through the standard library's `random(in:using:)`, whose
/// algorithm is not part of its contract: the same seed must give the same augmentation.
public enum ReproducibleDraw {
    /// A double uniform in `[range.lowerBound, range.upperBound)` from the top 53 bits.
    public static func uniform(
        _ range: ClosedRange<Double>, using rng: inout some RandomNumberGenerator
    ) -> Double {
        let unit = Double(rng.next() >> 11) * 0x1.0p-53
        return range.lowerBound + (range.upperBound - range.lowerBound) * unit
    }

    /// An integer uniform in `0...upper` (Lemire's multiply-and-reject, unbiased).
    public static func integer(upTo upper: Int, using rng: inout some RandomNumberGenerator) -> Int {
        guard upper > 0 else { return 0 }
        let n = UInt64(upper) + 1
        let threshold = (0 &- n) % n
        while true {
            let (high, low) = rng.next().multipliedFullWidth(by: n)
            if low >= threshold { return Int(high) }
        }
    }
}
