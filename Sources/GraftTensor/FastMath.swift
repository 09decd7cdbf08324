import Glibc

/// Vectorized `exp`, `sigmoid`, SiLU, the hard activations and the lane selections (ReLU, clamps,
/// NaN-aware max) of the activation kernels.
///
/// The module is built for baseline x86-64 (SSE2, no FMA), so everything here is plain
/// multiply/add, integer shifts and compares that lower to SSE2 instructions: no calls into libm
/// per element, no `rounded()` (SSE4.1) and no fused multiply-add (a libm call without FMA) —
/// GELU's erf included (`normalCDF`).
///
/// Loops move data eight floats at a time (`Vec8`). `Lanes` writes its selections on four-float
/// halves (`Vec4`): a `replacing(with:where:)` on `SIMD4<Float>` compiles to a single
/// `minps`/`maxps` or and/andnot/or, while on `SIMD8<Float>` in a baseline build the mask is rebuilt
/// from sign bits first (three extra instructions per select). `FastMath`'s functions, whose
/// polynomials outweigh their few selects, run on whole `Vec8`s: in the AVX2 build (where a select is
/// one blend) SiLU in cache went from 1.3–1.5 to 1.0 ns per element and GELU from 6.6 to 4.7 % of a
/// ConvNeXt-Tiny forward (perf, same run), against the halves they were computed on before.
typealias Vec8 = SIMD8<Float>
typealias Vec4 = SIMD4<Float>

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

    /// e^x for x clamped to [−87.34, 88.38] (so huge inputs give the finite values at the bounds;
    /// the sigmoid-based functions need no more). NaN stays NaN.
    @inline(__always)
    static func expOfClamped(_ input: Vec8) -> Vec8 {
        var x = input.replacing(with: maxInput, where: input .> maxInput)  // minps
        x = x.replacing(with: minInput, where: x .< minInput)  // maxps
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
        return y * scale
    }

    /// 1 / (1 + e^−x) (≈ 4e−39 rather than a denormal below x ≈ −88).
    @inline(__always)
    static func sigmoid(_ x: Vec8) -> Vec8 { 1 / (1 + expOfClamped(-x)) }

    /// x · sigmoid(x), computed as torch does: x / (1 + e^−x) (magnitude < 1e−36 for x < −88;
    /// −∞ maps to −∞ where torch gives NaN).
    @inline(__always)
    static func silu(_ x: Vec8) -> Vec8 { x / (1 + expOfClamped(-x)) }

    /// x · relu6(x + 3) / 6, in torch's order of operations (a division, not a multiply by 1/6).
    @inline(__always) static func hardswish(_ x: Vec8) -> Vec8 { x * Lanes.relu6(x + 3) / 6 }

    /// relu6(x + 3) / 6.
    @inline(__always) static func hardsigmoid(_ x: Vec8) -> Vec8 { Lanes.relu6(x + 3) / 6 }

    /// x · Φ(x), the exact (erf) GELU, with Φ from `normalCDF`: the same function as torch's
    /// `x · 0.5 · (1 + erf(x · √½))`, but without the cancellation of 1 + erf for negative x, so the
    /// left tail keeps its relative accuracy.
    @inline(__always) static func gelu(_ x: Vec8) -> Vec8 { x * normalCDF(x) }

    /// GELU's derivative times `g`: `g · (Φ(x) + x · φ(x))`, φ(x) = e^(−x²/2) / √(2π) (torch's
    /// `gelu_backward`), e^(−x²/2) split as in `normalCDF` (`expOfMinusHalfSquare`) so it stays
    /// accurate, and 0 past |x| = 14.
    @inline(__always) static func geluGradient(_ g: Vec8, _ x: Vec8) -> Vec8 {
        let u = absolute(x)
        let pdf = (invSqrt2Pi * expOfMinusHalfSquare(u, plus: Vec8())).replacing(with: 0, where: u .> 14)
        return g * (normalCDF(x) + x * pdf)
    }

    /// Φ(x), vectorized (it was libm's `erfcf` lane by lane, 13 % of a ConvNeXt forward). x · Φ(x)
    /// stays within 0.7 of ActivationTests' bound (1e−8 + 4e−7 relative to the exact value) on 7 M
    /// float32 inputs in [−20, 20]; libm's `erfcf` reached 0.63 (fits and that check:
    /// tools/fit_normal_cdf.py).
    /// - |x| < 1: Φ(x) = ½ + x · S(x²), S a degree-7 least-squares fit (relative error 2e−13).
    /// - |x| ≥ 1, u = |x|: Φ(−u) = t · e^(−u²/2 + H(s)), t = 1/(1 + u), s the affine map of t's range
    ///   [1/15.5, 1/2] onto [−1, 1] and H a degree-12 fit (absolute error 8e−11), Φ(u) = 1 − Φ(−u).
    ///   The exponential is `expOfMinusHalfSquare`, whose rounding does not scale with u².
    /// - |x| > 14: Φ(−u) = 0 (it is below 1e−44); NaN stays NaN.
    @inline(__always) static func normalCDF(_ x: Vec8) -> Vec8 {
        let u = absolute(x)
        let x2 = x * x
        var s7 = x2 * -3.322105257552721e-08 + 6.536643013532739e-07
        s7 = s7 * x2 + -9.434658750251401e-06
        s7 = s7 * x2 + 0.00011543018626980484
        s7 = s7 * x2 + -0.0011873270850628614
        s7 = s7 * x2 + 0.009973556734621525
        s7 = s7 * x2 + -0.06649038195610046
        s7 = s7 * x2 + 0.3989422917366028
        let central = 0.5 + x * s7
        // Activations near zero (|x| < 1 in every lane) skip the tail and its exponential.
        if !any(u .>= 1) { return central }

        let t = 1 / (1 + u)
        let s = (t - 0.2835143506526947) * 4.56624698638916
        var h = s * 2.4202886379498523e-06 + -6.391255737980828e-06
        h = h * s + -1.4854020946586388e-06
        h = h * s + 3.4372373193036765e-05
        h = h * s + -8.446754509350285e-05
        h = h * s + 6.74377879477106e-05
        h = h * s + 0.0003042814205400646
        h = h * s + -0.0014282966731116176
        h = h * s + 0.00228067091666162
        h = h * s + 0.005650486797094345
        h = h * s + -0.04990004748106003
        h = h * s + 0.10034361481666565
        h = h * s + -0.7048882842063904
        var tail = t * expOfMinusHalfSquare(u, plus: h)
        tail = tail.replacing(with: 0, where: u .> 14)
        let outer = tail.replacing(with: 1 - tail, where: x .> 0)
        return outer.replacing(with: central, where: u .< 1)
    }

    /// e^(−u²/2 + h) for u ≥ 0 without the exponent's rounding growing with u²: u²/2 split as high²
    /// (exact: `highBits` keeps 12 significant bits) plus the rest, and the two parts added by TwoSum,
    /// a + b = sum + error exactly, e^(a+b) ≈ e^sum · (1 + error). Φ's tail and GELU's density share it.
    @inline(__always) static func expOfMinusHalfSquare(_ u: Vec8, plus h: Vec8) -> Vec8 {
        let high = highBits(u)
        let a = -(high * high) * 0.5
        let b = -(u - high) * (u + high) * 0.5 + h
        let sum = a + b
        let bPart = sum - a
        let error = (a - (sum - bPart)) + (b - bPart)
        let e = expOfClamped(sum)
        return e + e * error
    }

    /// |x| by clearing the sign bit.
    @inline(__always) static func absolute(_ x: Vec8) -> Vec8 {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7fff_ffff, to: Vec8.self)
    }

    /// x with its 12 low mantissa bits cleared: 12 significant bits, so its square is exact.
    @inline(__always) static func highBits(_ x: Vec8) -> Vec8 {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0xffff_f000, to: Vec8.self)
    }

    /// 1/√(2π) as a float (torch's `M_2_SQRTPI · M_SQRT1_2 · 0.5`).
    static let invSqrt2Pi: Float = 0.398942280401432678
}

// MARK: - Lane selections

/// Lane-wise operations written on halves (see the file comment for why).
enum Lanes {
    /// max(x, 0); NaN stays NaN (torch's ReLU).
    @inline(__always) static func relu(_ x: Vec4) -> Vec4 { x.replacing(with: 0, where: x .< 0) }
    @inline(__always) static func relu(
        _ x: Vec8) -> Vec8 { Vec8(lowHalf: relu(x.lowHalf), highHalf: relu(x.highHalf)) }

    /// min(max(x, 0), 6); NaN stays NaN.
    @inline(__always) static func relu6(_ x: Vec4) -> Vec4 {
        let r = x.replacing(with: 0, where: x .< 0)
        return r.replacing(with: 6, where: r .> 6)
    }
    @inline(__always) static func relu6(
        _ x: Vec8) -> Vec8 { Vec8(lowHalf: relu6(x.lowHalf), highHalf: relu6(x.highHalf)) }

    /// `g` where `keep`'s lanes are true, else 0.
    @inline(__always) static func zero(_ g: Vec4, unless keep: SIMDMask<SIMD4<Int32>>) -> Vec4 {
        g.replacing(with: 0, where: .!keep)
    }

    /// ReLU's gradient: `g` where x > 0, else 0.
    @inline(__always) static func reluGradient(_ g: Vec8, _ x: Vec8) -> Vec8 {
        Vec8(lowHalf: zero(g.lowHalf, unless: x.lowHalf .> 0), highHalf: zero(g.highHalf, unless: x.highHalf .> 0))
    }

    /// Hardswish's gradient as torch computes it: 0 where x ≤ −3, `g` where x ≥ 3, else
    /// `g · (x / 3 + 0.5)` (NaN stays NaN).
    @inline(__always) static func hardswishGradient(_ g: Vec8, _ x: Vec8) -> Vec8 {
        func half(_ g: Vec4, _ x: Vec4) -> Vec4 {
            let inner = (g * (x / 3 + 0.5)).replacing(with: g, where: x .>= 3)
            return inner.replacing(with: 0, where: x .<= -3)
        }
        return Vec8(lowHalf: half(g.lowHalf, x.lowHalf), highHalf: half(g.highHalf, x.highHalf))
    }

    /// Hardsigmoid's gradient (strict bounds): `g / 6` (times the float 1/6, as torch) where
    /// −3 < x < 3, else 0.
    @inline(__always) static func hardsigmoidGradient(_ g: Vec8, _ x: Vec8) -> Vec8 {
        let sixth: Float = 1.0 / 6.0
        let lo = x.lowHalf, hi = x.highHalf
        return Vec8(lowHalf: zero(g.lowHalf * sixth, unless: (lo .> -3) .& (lo .< 3)),
                    highHalf: zero(g.highHalf * sixth, unless: (hi .> -3) .& (hi .< 3)))
    }

    /// ReLU6's gradient (hardtanh's strict bounds): `g` where 0 < x < 6, else 0.
    @inline(__always) static func relu6Gradient(_ g: Vec8, _ x: Vec8) -> Vec8 {
        let lo = x.lowHalf, hi = x.highHalf
        return Vec8(lowHalf: zero(g.lowHalf, unless: (lo .> 0) .& (lo .< 6)),
                    highHalf: zero(g.highHalf, unless: (hi .> 0) .& (hi .< 6)))
    }

    /// max(a, b) where a NaN in either lane wins (torch's max pooling propagates NaN).
    @inline(__always) static func maxPropagatingNaN(_ a: Vec4, _ b: Vec4) -> Vec4 {
        a.replacing(with: b, where: .!((a .>= b) .| (a .!= a)))
    }
    @inline(__always) static func maxPropagatingNaN(_ a: Vec8, _ b: Vec8) -> Vec8 {
        Vec8(lowHalf: maxPropagatingNaN(a.lowHalf, b.lowHalf), highHalf: maxPropagatingNaN(a.highHalf, b.highHalf))
    }
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
