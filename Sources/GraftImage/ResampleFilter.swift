#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Pillow's resampling filters (`PIL.Image.Resampling`), with torchvision's names for the ones
/// it exposes (`InterpolationMode.NEAREST`, `.BILINEAR`, `.BICUBIC`, `.BOX`, `.HAMMING`,
/// `.LANCZOS`). All but `nearest` are convolutions whose support grows with the downscale
/// factor, which is how PIL antialiases.
public enum ResampleFilter: String, Sendable, CaseIterable, Codable {
    /// Nearest neighbour (no antialiasing); Keras' `load_img` default.
    case nearest
    /// Triangle kernel, support 1 (torchvision's default).
    case bilinear
    /// Keys cubic with a = -0.5, support 2 (EfficientNet B0–B7 V1 presets).
    case bicubic
    /// Box kernel, support 0.5 (area averaging when shrinking).
    case box
    /// Hamming-windowed sinc, support 1.
    case hamming
    /// Lanczos-windowed sinc, support 3.
    case lanczos

    /// Half-width of the kernel at scale 1 (`struct filter.support` in Resample.c).
    var support: Double {
        switch self {
        case .nearest, .box: return 0.5
        case .bilinear, .hamming: return 1
        case .bicubic: return 2
        case .lanczos: return 3
        }
    }

    /// The kernel, evaluated in double precision as Resample.c does.
    @inline(__always)
    func weight(_ x: Double) -> Double {
        switch self {
        case .nearest, .box:
            return x > -0.5 && x <= 0.5 ? 1 : 0
        case .bilinear:
            let a = abs(x)
            return a < 1 ? 1 - a : 0
        case .hamming:
            let a = abs(x)
            if a == 0 { return 1 }
            if a >= 1 { return 0 }
            let t = a * Double.pi
            // The C source writes 0.54f and 0.46f: single-precision constants widened to double.
            return sin(t) / t * (Double(Float(0.54)) + Double(Float(0.46)) * cos(t))
        case .bicubic:
            // Keys' cubic convolution with a = -0.5.
            let a = -0.5
            let t = abs(x)
            if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
            if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
            return 0
        case .lanczos:
            return x >= -3 && x < 3 ? Self.sinc(x) * Self.sinc(x / 3) : 0
        }
    }

    @inline(__always)
    private static func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let t = x * Double.pi
        return sin(t) / t
    }
}
