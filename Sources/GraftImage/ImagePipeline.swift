/// The preprocessing a model's weights expect, for inference and for training:
/// torchvision's `ImageClassification` preset, or Keras' `load_img` + `preprocess_input`.
///
/// Training derives its augmentation from the same recipe: by default RandomResizedCrop to the eval size
/// with the recipe's interpolation (bilinear for Keras' nearest), a horizontal flip (other steps:
/// `AugmentRecipe`), then the recipe's own normalization — so a fine-tuned model sees the value ranges its
/// weights were trained on.
public enum ImagePipeline: Sendable, Equatable, Codable {
    case torchvision(ClassificationPreset)
    /// `size`×`size` input; `mode` nil means raw 0–255 pixels (EfficientNet normalizes in-graph).
    case keras(size: Int, mode: KerasPreprocessMode?)

    /// The side of the square tensors it produces.
    public var size: Int {
        switch self {
        case .torchvision(let p): return p.cropSize
        case .keras(let s, _): return s
        }
    }

    public var summary: String {
        switch self {
        case .torchvision(let p):
            let mode = p.cropMode == .center ? "" : " (\(p.cropMode.rawValue) mode)"
            return "resize \(p.resizeSize), crop \(p.cropSize)\(mode), \(p.interpolation.rawValue), mean \(p.mean), std \(p.std)"
        case .keras(let s, let m): return "Keras load_img \(s)×\(s) nearest, preprocess_input \(m?.rawValue ?? "none (in-graph)")"
        }
    }

    /// The evaluation tensor (CHW float32).
    public func evaluate(_ image: RGBImage) throws -> ImageTensor {
        switch self {
        case .torchvision(let p): return try p(image)
        case .keras(_, let mode): return try Self.keras(evaluationCrop(image), mode)
        }
    }

    /// A training tensor: the recipe's steps on the 8-bit image (`light`, the default: RandomResizedCrop
    /// + horizontal flip), the recipe's normalization, then RandomErasing if the recipe ends with it.
    /// Without RandomResizedCrop the image first takes the evaluation resize and crop.
    public func augment<G: RandomNumberGenerator>(
        _ image: RGBImage, recipe: AugmentRecipe = .light, using rng: inout G
    ) throws -> ImageTensor {
        if recipe.isNone { return try evaluate(image) }
        var img: RGBImage
        var steps = recipe.steps[...]
        if steps.first == .randomResizedCrop {
            img = try RandomResizedCrop(size: size, interpolation: augmentInterpolation)(image, using: &rng)
            steps = steps.dropFirst()
        } else {
            img = try evaluationCrop(image)
        }
        for step in steps {
            switch step {
            case .randomResizedCrop: break  // the recipe allows it only first
            case .flip(let p):
                if ReproducibleDraw.uniform(0...1, using: &rng) < p { img = ImageTransforms.horizontalFlip(img) }
            case .rotate(let t): img = t(img, using: &rng)
            case .affine(let t): img = t(img, using: &rng)
            case .jitter(let t): img = t(img, using: &rng)
            case .trivialAugmentWide: img = TrivialAugmentWide()(img, using: &rng)
            case .randAugment(let t): img = t(img, using: &rng)
            case .erase: break  // on the tensor, below
            }
        }
        let tensor: ImageTensor
        switch self {
        case .torchvision(let p):
            // torchvision v2's training conversion (ToDtype with scale), not the evaluation preset's division.
            tensor = try ImageTransforms.normalize(ImageTransforms.toScaledTensor(img), mean: p.mean, std: p.std)
        case .keras(_, let mode): tensor = try Self.keras(img, mode)
        }
        return recipe.erasing.map { $0(tensor, using: &rng) } ?? tensor
    }

    /// RandomResizedCrop's filter: the recipe's (bilinear for Keras' nearest).
    private var augmentInterpolation: ResampleFilter {
        switch self {
        case .torchvision(let p): return p.interpolation
        case .keras: return .bilinear
        }
    }

    /// The evaluation geometry alone: the 8-bit `size`×`size` image before normalization.
    public func evaluationCrop(_ image: RGBImage) throws -> RGBImage {
        switch self {
        case .torchvision(let p): return try p.crop(image)
        case .keras(let s, _):
            return image.width == s && image.height == s ? image
                : try Resampler.resize(image, width: s, height: s, filter: .nearest)
        }
    }

    private static func keras(_ image: RGBImage, _ mode: KerasPreprocessMode?) throws -> ImageTensor {
        if let mode { return KerasImageLoader.preprocess(image, mode: mode) }
        let plane = image.width * image.height
        var values = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane { for c in 0..<3 { values[c * plane + i] = Float(image.pixels[3 * i + c]) } }
        return try ImageTensor(channels: 3, height: image.height, width: image.width, values: values)
    }
}
