/// SplitMix64 (Steele, Lea and Flood 2014): a tiny seeded generator, so augmentation, shuffling and
/// test data give the same values for the same seed on every machine and toolchain. It also seeds
/// the tensor library's xoshiro256** generator.
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
