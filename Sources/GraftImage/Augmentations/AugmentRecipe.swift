/// The training augmentation of a fine-tuning run (`graft finetune --augment`): a list of torchvision v2
/// transforms applied in order to the decoded 8-bit image, then the weights' normalization, then (if
/// asked) RandomErasing on the normalized tensor, where torchvision's recipes place it.
///
/// Named recipes:
/// - `none`: no augmentation (the evaluation preprocessing).
/// - `light` (the default): `rrc,flip` — RandomResizedCrop to the model's input size, horizontal flip.
/// - `trivial`: `rrc,flip,trivial` — torchvision's reference recipe with `--auto-augment ta_wide`.
/// - `randaugment`: `rrc,flip,randaugment:2:9` — the same with `--auto-augment ra`.
///
/// A list names the steps: `rrc`, `flip[:P]`, `rotate:DEG`, `affine:DEG[:TRANSLATE[:SCALE[:SHEAR]]]`,
/// `jitter:B:C:S[:H]`, `trivial`, `randaugment[:N[:M]]`, `erase[:P]`. Without `rrc` an image first takes
/// the evaluation resize and crop, so every step sees the model's input size.
public struct AugmentRecipe: Sendable, Equatable, CustomStringConvertible {
    public enum Step: Sendable, Equatable {
        /// RandomResizedCrop (scale 0.08…1, ratio 3/4…4/3) with the weights' interpolation.
        case randomResizedCrop
        /// RandomHorizontalFlip with this probability (0.5 by default).
        case flip(Double)
        case rotate(RandomRotation)
        case affine(RandomAffine)
        case jitter(ColorJitter)
        case trivialAugmentWide
        case randAugment(RandAugment)
        /// RandomErasing with this probability (0.5 by default), on the normalized tensor.
        case erase(Double)
    }

    /// The image steps, in order (RandomResizedCrop, if present, first).
    public private(set) var steps: [Step]
    /// The spelling it was made from, for run notes and checkpoint fingerprints.
    public let description: String

    /// `none` (named `off` here: a static `none` would be mistaken for an optional's nil).
    public static let off = AugmentRecipe(steps: [], description: "none")
    public static let light = AugmentRecipe(steps: [.randomResizedCrop, .flip(0.5)], description: "light")

    /// Whether any augmentation happens at all.
    public var isNone: Bool { steps.isEmpty }

    /// The last step, RandomErasing, which applies to the tensor rather than the image.
    public var erasing: RandomErasing? {
        if case .erase(let p) = steps.last { return RandomErasing(probability: p) }
        return nil
    }

    /// Parses a named recipe or a comma-separated list; the error names the offending item.
    public init(parsing text: String) throws {
        let spelled = Self.trimmed(Substring(text))
        switch spelled {
        case "none": self = .off; return
        case "light": self = .light; return
        case "trivial": self.init(steps: [.randomResizedCrop, .flip(0.5), .trivialAugmentWide], description: spelled); return
        case "randaugment":
            self.init(steps: [.randomResizedCrop, .flip(0.5), .randAugment(RandAugment())], description: spelled); return
        default: break
        }
        let items = spelled.split(separator: ",", omittingEmptySubsequences: false).map(Self.trimmed)
        var steps: [Step] = []
        for (index, item) in items.enumerated() {
            let step = try Self.step(item, in: spelled)
            if step == .randomResizedCrop && index != 0 {
                throw AugmentRecipeError("'rrc' must come first in '\(spelled)': it fixes the size the other steps see")
            }
            if case .erase = step, index != items.count - 1 {
                throw AugmentRecipeError("'\(item)' must come last in '\(spelled)': it erases part of the normalized tensor")
            }
            steps.append(step)
        }
        self.init(steps: steps, description: spelled)
    }

    private init(steps: [Step], description: String) {
        self.steps = steps
        self.description = description
    }

    private static func trimmed(_ s: Substring) -> String {
        String(s.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }

    static let grammar = "none, light, trivial, randaugment, or a list of rrc, flip[:P], rotate:DEG, "
        + "affine:DEG[:TRANSLATE[:SCALE[:SHEAR]]], jitter:B:C:S[:H], trivial, randaugment[:N[:M]], erase[:P]"

    private static func step(_ item: String, in text: String) throws -> Step {
        let fields = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let name = fields[0], arguments = Array(fields.dropFirst())
        func numbers(_ allowed: ClosedRange<Int>) throws -> [Double] {
            guard allowed.contains(arguments.count) else {
                throw AugmentRecipeError("'\(item)' in '\(text)' takes \(allowed.lowerBound == allowed.upperBound ? "\(allowed.lowerBound)" : "\(allowed.lowerBound) to \(allowed.upperBound)") number(s); expected \(grammar)")
            }
            return try arguments.map { field in
                guard let v = Double(field), v.isFinite else {
                    throw AugmentRecipeError("'\(field)' in '\(item)' is not a number")
                }
                return v
            }
        }
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw AugmentRecipeError("'\(item)': \(what)") }
        }
        switch name {
        case "rrc":
            _ = try numbers(0...0)
            return .randomResizedCrop
        case "flip", "erase":
            let p = try numbers(0...1).first ?? 0.5
            try check((0...1).contains(p), "the probability must be within 0…1")
            return name == "flip" ? .flip(p) : .erase(p)
        case "rotate":
            let d = try numbers(1...1)[0]
            try check(d >= 0 && d <= 180, "degrees must be within 0…180")
            return .rotate(RandomRotation(degrees: d))
        case "affine":
            let v = try numbers(1...4)
            let (deg, translate, scale, shear) = (v[0], v.count > 1 ? v[1] : 0, v.count > 2 ? v[2] : 0, v.count > 3 ? v[3] : 0)
            try check(deg >= 0 && deg <= 180, "degrees must be within 0…180")
            try check((0...1).contains(translate), "the translation is a fraction of the size, within 0…1")
            try check(scale >= 0 && scale < 1, "the scale spread S (scale 1−S…1+S) must be within 0…1")
            try check(shear >= 0 && shear < 90, "the shear must be within 0…90 degrees")
            return .affine(RandomAffine(
                degrees: deg, translate: translate > 0 ? (translate, translate) : nil,
                scale: scale > 0 ? (1 - scale)...(1 + scale) : nil, shearX: shear > 0 ? -shear...shear : nil))
        case "jitter":
            let v = try numbers(3...4)
            try check(v.prefix(3).allSatisfy { $0 >= 0 }, "brightness, contrast and saturation must be ≥ 0")
            let hue = v.count > 3 ? v[3] : 0
            try check((0...0.5).contains(hue), "the hue must be within 0…0.5")
            return .jitter(ColorJitter(brightness: v[0], contrast: v[1], saturation: v[2], hue: hue))
        case "trivial":
            _ = try numbers(0...0)
            return .trivialAugmentWide
        case "randaugment":
            let v = try numbers(0...2)
            let n = v.count > 0 ? v[0] : 2, m = v.count > 1 ? v[1] : 9
            try check(n == n.rounded() && (0...10).contains(n), "the number of operations must be a whole 0…10")
            try check(m == m.rounded() && (0...30).contains(m), "the magnitude must be a whole 0…30 (31 bins)")
            return .randAugment(RandAugment(operations: Int(n), magnitude: Int(m)))
        default:
            let what = name.isEmpty ? "an empty item" : "unknown augmentation '\(name)'"
            throw AugmentRecipeError("\(what) in '\(text)'; expected \(grammar)")
        }
    }
}

/// A `--augment` value that is not a recipe, with the reason.
public struct AugmentRecipeError: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
