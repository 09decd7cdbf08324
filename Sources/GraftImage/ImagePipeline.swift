/// The preprocessing a model's weights expect, for inference and for training:
/// torchvision's `ImageClassification` preset, or Keras' `load_img` + `preprocess_input`.
///
/// Training derives its augmentation from the same recipe: RandomResizedCrop to the eval size with the
/// recipe's interpolation (bilinear for Keras' nearest), a horizontal flip, then the recipe's own
/// normalization — so a fine-tuned model sees the value ranges its weights were trained on.
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
        case .keras(let s, let mode):
            let resized = image.width == s && image.height == s ? image
                : try Resampler.resize(image, width: s, height: s, filter: .nearest)
            return try Self.keras(resized, mode)
        }
    }

    /// A training tensor: RandomResizedCrop + horizontal flip (p = 0.5) + the recipe's normalization.
    public func augment<G: RandomNumberGenerator>(_ image: RGBImage, using rng: inout G) throws -> ImageTensor {
        let interpolation: ResampleFilter
        switch self {
        case .torchvision(let p): interpolation = p.interpolation
        case .keras: interpolation = .bilinear
        }
        var img = try RandomResizedCrop(size: size, interpolation: interpolation)(image, using: &rng)
        if rng.next() & 1 == 1 { img = ImageTransforms.horizontalFlip(img) }
        switch self {
        case .torchvision(let p): return try ImageTransforms.normalize(ImageTransforms.toTensor(img), mean: p.mean, std: p.std)
        case .keras(_, let mode): return try Self.keras(img, mode)
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
