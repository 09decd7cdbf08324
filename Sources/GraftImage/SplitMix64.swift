/// SplitMix64 (Steele, Lea and Flood 2014): a tiny seeded generator, so an augmentation
/// pipeline gives the same crops and flips for the same seed on every machine and toolchain.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    /// The generator's whole state; equal states give equal sequences.
    public private(set) var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

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
