#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One operation of torchvision's automatic augmentation policies, applied with a given signed magnitude
/// as `_AutoAugmentBase._apply_image_or_video_transform` applies it to a PIL image (nearest, fill 0).
public enum AutoAugmentOp: String, CaseIterable, Sendable {
    case identity = "Identity", shearX = "ShearX", shearY = "ShearY", translateX = "TranslateX"
    case translateY = "TranslateY", rotate = "Rotate", brightness = "Brightness", color = "Color"
    case contrast = "Contrast", sharpness = "Sharpness", posterize = "Posterize", solarize = "Solarize"
    case autoContrast = "AutoContrast", equalize = "Equalize"

    /// Whether torchvision flips the magnitude's sign with probability ½.
    public var isSigned: Bool {
        switch self {
        case .shearX, .shearY, .translateX, .translateY, .rotate, .brightness, .color, .contrast, .sharpness:
            return true
        default: return false
        }
    }

    /// The operation at `magnitude` (shear as a slope, translation in pixels, rotation in degrees,
    /// colour factors as the offset from 1, posterize bits, solarize threshold as a fraction of 255).
    public func apply(_ image: RGBImage, magnitude: Double) -> RGBImage {
        switch self {
        case .identity: return image
        case .shearX, .shearY:
            // torchvision shears by atan(magnitude) degrees about the top-left corner.
            let degrees = atan(magnitude) * (180 / Double.pi)
            return AffineWarp.affine(image, angle: 0, translate: (0, 0), scale: 1,
                                     shear: self == .shearX ? (degrees, 0) : (0, degrees), center: (0, 0))
        case .translateX, .translateY:
            let pixels = Double(Int(magnitude))  // int(): toward zero
            return AffineWarp.affine(image, angle: 0, translate: self == .translateX ? (pixels, 0) : (0, pixels),
                                     scale: 1, shear: (0, 0))
        case .rotate: return AffineWarp.rotate(image, degrees: magnitude)
        case .brightness: return ColorAdjust.brightness(image, factor: 1 + magnitude)
        case .color: return ColorAdjust.saturation(image, factor: 1 + magnitude)
        case .contrast: return ColorAdjust.contrast(image, factor: 1 + magnitude)
        case .sharpness: return ColorAdjust.sharpness(image, factor: 1 + magnitude)
        case .posterize: return ToneCurves.posterize(image, bits: Int(magnitude))
        case .solarize: return ToneCurves.solarize(image, threshold: 255 * magnitude)
        case .autoContrast: return ToneCurves.autocontrast(image)
        case .equalize: return ToneCurves.equalize(image)
        }
    }
}

/// The magnitude tables of TrivialAugmentWide and RandAugment (`_AUGMENTATION_SPACE`): `bins` values
/// per operation, computed as torch computes them in float32 so each bin holds torch's value.
public enum AutoAugmentSpace: String, Sendable {
    case trivialAugmentWide, randAugment

    /// The magnitudes of `op` for a `width`×`height` image, or nil for operations without one.
    public func magnitudes(_ op: AutoAugmentOp, bins: Int, width: Int, height: Int) -> [Double]? {
        let wide = self == .trivialAugmentWide
        switch op {
        case .identity, .autoContrast, .equalize: return nil
        case .shearX, .shearY: return Self.linspace(0, wide ? 0.99 : 0.3, bins)
        case .translateX: return Self.linspace(0, wide ? 32 : 150.0 / 331.0 * Double(width), bins)
        case .translateY: return Self.linspace(0, wide ? 32 : 150.0 / 331.0 * Double(height), bins)
        case .rotate: return Self.linspace(0, wide ? 135 : 30, bins)
        case .brightness, .color, .contrast, .sharpness: return Self.linspace(0, wide ? 0.99 : 0.9, bins)
        case .solarize: return Self.linspace(1, 0, bins)
        case .posterize:
            // (8 - arange(bins) / ((bins - 1) / levels)).round(): float32, ties to even.
            let divisor = Float(Double(bins - 1) / (wide ? 6 : 4))
            return (0..<bins).map { Double((8 - Float($0) / divisor).rounded(.toNearestOrEven)) }
        }
    }

    /// `torch.linspace(start, end, count)` in float32 on the CPU: the first half counted up from
    /// `start`, the second down from `end`, each with one fused multiply-add as torch's kernel does.
    static func linspace(_ start: Double, _ end: Double, _ count: Int) -> [Double] {
        guard count > 1 else { return count == 1 ? [Double(Float(start))] : [] }
        let a = Float(start), b = Float(end)
        let step = (b - a) / Float(count - 1)
        return (0..<count).map { i in
            Double(i < count / 2 ? a.addingProduct(step, Float(i)) : b.addingProduct(-step, Float(count - 1 - i)))
        }
    }

    /// One operation drawn as torchvision draws it: uniformly among the 14, then (for a ranged one)
    /// the bin — uniform for TrivialAugmentWide, fixed at `magnitudeBin` for RandAugment — and the sign.
    public func draw(
        width: Int, height: Int, bins: Int = 31, magnitudeBin: Int? = nil,
        using rng: inout some RandomNumberGenerator
    ) -> (op: AutoAugmentOp, magnitude: Double) {
        let ops = AutoAugmentOp.allCases
        let op = ops[ReproducibleDraw.integer(upTo: ops.count - 1, using: &rng)]
        guard let table = magnitudes(op, bins: bins, width: width, height: height) else { return (op, 0) }
        let bin = magnitudeBin ?? ReproducibleDraw.integer(upTo: bins - 1, using: &rng)
        var magnitude = table[min(max(bin, 0), bins - 1)]
        if op.isSigned && ReproducibleDraw.uniform(0...1, using: &rng) <= 0.5 { magnitude = -magnitude }
        return (op, magnitude)
    }
}

/// `v2.TrivialAugmentWide()`: one operation of the wide space, at a uniformly drawn bin of 31.
public struct TrivialAugmentWide: Sendable, Equatable {
    public var bins = 31
    public init() {}

    public func callAsFunction(_ image: RGBImage, using rng: inout some RandomNumberGenerator) -> RGBImage {
        let (op, magnitude) = AutoAugmentSpace.trivialAugmentWide.draw(
            width: image.width, height: image.height, bins: bins, using: &rng)
        return op.apply(image, magnitude: magnitude)
    }
}

/// `v2.RandAugment(num_ops, magnitude)`: `operations` draws in a row, each at bin `magnitude` of 31.
public struct RandAugment: Sendable, Equatable {
    public var operations: Int
    public var magnitude: Int
    public var bins = 31

    /// torchvision's defaults: 2 operations at magnitude 9.
    public init(operations: Int = 2, magnitude: Int = 9) {
        self.operations = operations
        self.magnitude = magnitude
    }

    public func callAsFunction(_ image: RGBImage, using rng: inout some RandomNumberGenerator) -> RGBImage {
        var out = image
        for _ in 0..<max(operations, 0) {
            let (op, m) = AutoAugmentSpace.randAugment.draw(
                width: out.width, height: out.height, bins: bins, magnitudeBin: magnitude, using: &rng)
            out = op.apply(out, magnitude: m)
        }
        return out
    }
}
