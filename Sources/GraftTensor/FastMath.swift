/// Vectorized `exp`, `sigmoid` and SiLU for the activation kernels.
///
/// The module is built for baseline x86-64 (SSE2, no FMA), so everything here is plain
/// multiply/add, integer shifts and compares that lower to SSE2 instructions: no calls into libm
/// per element, no `rounded()` (SSE4.1) and no fused multiply-add (a libm call without FMA).
typealias Vec8 = SIMD8<Float>

enum FastMath {
    // Cephes `expf`: exp(x) = 2^n · exp(r), n = round(x·log2 e), r = x − n·ln 2 (ln 2 split in two
    // so n·C1 is exact), exp(r) by a degree-7 polynomial on |r| ≤ ln2/2. Accurate to ~1 ulp.
    private static let log2e: Float = 1.44269504088896341
    private static let c1: Float = 0.693359375
    private static let c2: Float = -2.12194440e-4
    private static let p0: Float = 1.9875691500e-4
    private static let p1: Float = 1.3981999507e-3
    private static let p2: Float = 8.3334519073e-3
    private static let p3: Float = 4.1665795894e-2
    private static let p4: Float = 1.6666665459e-1
    private static let p5: Float = 5.0000001201e-1
    /// Bounds keeping 2^n a normal float: exp(88.37) < Float.greatestFiniteMagnitude.
    private static let maxInput: Float = 88.3762626647949
    private static let minInput: Float = -87.3365447505531
    /// 1.5·2^23: adding it rounds to the nearest integer and leaves that integer in the low bits.
    private static let roundMagic: Float = 12_582_912

    /// e^x for each lane: +∞ above ≈ 88.38 and 0 below ≈ −87.34 (results that would be
    /// denormal flush to zero), NaN stays NaN.
    @inline(__always)
    static func exp(_ input: Vec8) -> Vec8 {
        var x = input.replacing(with: maxInput, where: input .> maxInput)
        x = x.replacing(with: minInput, where: x .< minInput)
        let shifted = x * log2e + roundMagic
        let n = shifted - roundMagic
        let nBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(
            Vec8(repeating: roundMagic), to: SIMD8<Int32>.self)
        let r = x - n * c1 - n * c2
        let r2 = r * r
        var y = p0 * r + p1
        y = y * r + p2
        y = y * r + p3
        y = y * r + p4
        y = y * r + p5
        y = y * r2 + r + 1
        let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: Vec8.self)
        return (y * scale).replacing(with: .infinity, where: input .> maxInput).replacing(with: 0, where: input .< minInput)
    }

    /// 1 / (1 + e^−x).
    @inline(__always)
    static func sigmoid(_ x: Vec8) -> Vec8 {
        1 / (1 + exp(-x))
    }

    /// x · sigmoid(x), computed as torch does: x / (1 + e^−x).
    @inline(__always)
    static func silu(_ x: Vec8) -> Vec8 {
        x / (1 + exp(-x))
    }

    /// Scalar versions through the same vector code, so tails and bodies agree bit for bit.
    static func exp(_ x: Float) -> Float { exp(Vec8(repeating: x))[0] }
    static func sigmoid(_ x: Float) -> Float { sigmoid(Vec8(repeating: x))[0] }
    static func silu(_ x: Float) -> Float { silu(Vec8(repeating: x))[0] }
}

// MARK: - Unaligned vector access

@inline(__always)
func loadVec8(_ p: UnsafePointer<Float>) -> Vec8 {
    UnsafeRawPointer(p).loadUnaligned(as: Vec8.self)
}

@inline(__always)
func loadVec8(_ p: UnsafeMutablePointer<Float>) -> Vec8 {
    UnsafeRawPointer(p).loadUnaligned(as: Vec8.self)
}

@inline(__always)
func storeVec8(_ v: Vec8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec8.self)
}

@inline(__always)
func loadVec4(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
}

@inline(__always)
func storeVec4(_ v: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Float>.self)
}
