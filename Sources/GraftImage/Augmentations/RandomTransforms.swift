/// torchvision v2's randomly parameterised transforms: the parameters drawn as each `make_params` draws
/// them (torch samples float32 values, so every continuous draw is rounded to float32 here too), applied
/// by the deterministic operations of `AffineWarp`, `ColorAdjust` and `ToneCurves`.
enum Float32Draw {
    /// `torch.empty(1).uniform_(lo, hi).item()`: uniform in [lo, hi), as a float32 value.
    static func uniform(_ lo: Double, _ hi: Double, using rng: inout some RandomNumberGenerator) -> Double {
        Double(Float(ReproducibleDraw.uniform(lo...hi, using: &rng)))
    }
}

/// `v2.RandomRotation(degrees)`: an angle uniform in `degrees`, nearest, no expansion, fill 0.
public struct RandomRotation: Sendable, Equatable {
    public var degrees: ClosedRange<Double>

    /// A single number D means −D…D, as torchvision reads it.
    public init(degrees: Double) { self.degrees = -abs(degrees)...abs(degrees) }

    public func angle(using rng: inout some RandomNumberGenerator) -> Double {
        Float32Draw.uniform(degrees.lowerBound, degrees.upperBound, using: &rng)
    }

    public func callAsFunction(_ image: RGBImage, using rng: inout some RandomNumberGenerator) -> RGBImage {
        AffineWarp.rotate(image, degrees: angle(using: &rng))
    }
}

/// `v2.RandomAffine(degrees, translate, scale, shear)`, nearest, fill 0, about the centre.
public struct RandomAffine: Sendable, Equatable {
    public var degrees: ClosedRange<Double>
    /// Largest shift as a fraction of the width and of the height; nil: none.
    public var translate: (x: Double, y: Double)?
    public var scale: ClosedRange<Double>?
    /// Shear ranges in degrees along x and (optionally) y.
    public var shearX: ClosedRange<Double>?
    public var shearY: ClosedRange<Double>?

    public init(
        degrees: Double, translate: (x: Double, y: Double)? = nil, scale: ClosedRange<Double>? = nil,
        shearX: ClosedRange<Double>? = nil, shearY: ClosedRange<Double>? = nil
    ) {
        self.degrees = -abs(degrees)...abs(degrees)
        self.translate = translate
        self.scale = scale
        self.shearX = shearX
        self.shearY = shearY
    }

    public struct Parameters: Sendable, Equatable {
        public var angle: Double, translateX: Int, translateY: Int, scale: Double, shearX: Double, shearY: Double
    }

    /// torchvision's draw order: angle, translation (rounded half to even), scale, shear x, shear y.
    public func parameters(width: Int, height: Int, using rng: inout some RandomNumberGenerator) -> Parameters {
        let angle = Float32Draw.uniform(degrees.lowerBound, degrees.upperBound, using: &rng)
        var tx = 0, ty = 0
        if let translate {
            let dx = translate.x * Double(width), dy = translate.y * Double(height)
            tx = Int(Float32Draw.uniform(-dx, dx, using: &rng).rounded(.toNearestOrEven))
            ty = Int(Float32Draw.uniform(-dy, dy, using: &rng).rounded(.toNearestOrEven))
        }
        let s = scale.map { Float32Draw.uniform($0.lowerBound, $0.upperBound, using: &rng) } ?? 1
        let shx = shearX.map { Float32Draw.uniform($0.lowerBound, $0.upperBound, using: &rng) } ?? 0
        let shy = shearY.map { Float32Draw.uniform($0.lowerBound, $0.upperBound, using: &rng) } ?? 0
        return Parameters(angle: angle, translateX: tx, translateY: ty, scale: s, shearX: shx, shearY: shy)
    }

    public func callAsFunction(_ image: RGBImage, using rng: inout some RandomNumberGenerator) -> RGBImage {
        let p = parameters(width: image.width, height: image.height, using: &rng)
        return AffineWarp.affine(image, angle: p.angle, translate: (Double(p.translateX), Double(p.translateY)),
                                 scale: p.scale, shear: (p.shearX, p.shearY))
    }

    public static func == (a: RandomAffine, b: RandomAffine) -> Bool {
        a.degrees == b.degrees && a.translate?.x == b.translate?.x && a.translate?.y == b.translate?.y
            && a.scale == b.scale && a.shearX == b.shearX && a.shearY == b.shearY
    }
}

/// `v2.ColorJitter(brightness, contrast, saturation, hue)`: the four adjustments in a random order, each
/// factor uniform in its range (a number B means max(0, 1 − B)…1 + B; hue H means −H…H).
public struct ColorJitter: Sendable, Equatable {
    public var brightness: ClosedRange<Double>?
    public var contrast: ClosedRange<Double>?
    public var saturation: ClosedRange<Double>?
    public var hue: ClosedRange<Double>?

    public init(brightness: Double = 0, contrast: Double = 0, saturation: Double = 0, hue: Double = 0) {
        func around1(_ v: Double) -> ClosedRange<Double>? { v == 0 ? nil : max(0, 1 - v)...(1 + v) }
        self.brightness = around1(brightness)
        self.contrast = around1(contrast)
        self.saturation = around1(saturation)
        self.hue = hue == 0 ? nil : -hue...hue
    }

    public struct Parameters: Sendable, Equatable {
        /// Indices 0 brightness, 1 contrast, 2 saturation, 3 hue, in the order they are applied.
        public var order: [Int]
        public var brightness: Double?, contrast: Double?, saturation: Double?, hue: Double?

        public init(order: [Int], brightness: Double?, contrast: Double?, saturation: Double?, hue: Double?) {
            self.order = order
            (self.brightness, self.contrast, self.saturation, self.hue) = (brightness, contrast, saturation, hue)
        }
    }

    /// torchvision's draws: the order (`randperm(4)`), then the factors of the adjustments asked for.
    public func parameters(using rng: inout some RandomNumberGenerator) -> Parameters {
        var order = [0, 1, 2, 3]
        for i in stride(from: 3, to: 0, by: -1) {
            order.swapAt(i, ReproducibleDraw.integer(upTo: i, using: &rng))
        }
        func draw(_ r: ClosedRange<Double>?) -> Double? {
            r.map { Float32Draw.uniform($0.lowerBound, $0.upperBound, using: &rng) }
        }
        let b = draw(brightness), c = draw(contrast), s = draw(saturation), h = draw(hue)
        return Parameters(order: order, brightness: b, contrast: c, saturation: s, hue: h)
    }

    /// The adjustments of `p` in its order (torchvision's `ColorJitter.transform`).
    public static func apply(_ image: RGBImage, _ p: Parameters) -> RGBImage {
        var out = image
        for index in p.order {
            switch index {
            case 0: if let f = p.brightness { out = ColorAdjust.brightness(out, factor: f) }
            case 1: if let f = p.contrast { out = ColorAdjust.contrast(out, factor: f) }
            case 2: if let f = p.saturation { out = ColorAdjust.saturation(out, factor: f) }
            default: if let f = p.hue { out = ToneCurves.hue(out, factor: f) }
            }
        }
        return out
    }

    public func callAsFunction(_ image: RGBImage, using rng: inout some RandomNumberGenerator) -> RGBImage {
        Self.apply(image, parameters(using: &rng))
    }
}
