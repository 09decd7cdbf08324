/// torchvision's `ImageClassification` eval preset (`transforms/_presets.py`), the transform a
/// pretrained weight's `weights.transforms()` returns: resize the shorter side, center crop,
/// scale to [0, 1], normalize.
///
/// Applied to an image decoded by `ImageDecoder`, it reproduces
/// `weights.transforms()(PIL.Image.open(path).convert("RGB"))` value for value.
public struct ClassificationPreset: Sendable, Equatable, Codable {
    /// Target of the shorter side before cropping (`resize_size`).
    public var resizeSize: Int
    /// Side of the square center crop (`crop_size`).
    public var cropSize: Int
    /// Filter of the resize (`interpolation`).
    public var interpolation: ResampleFilter
    /// Per-channel mean subtracted after scaling to [0, 1].
    public var mean: [Float]
    /// Per-channel standard deviation divided by after the mean.
    public var std: [Float]
    /// How the image reaches the crop: torchvision's shorter-side resize (`center`), or timm's other
    /// eval modes (`squash`, `border`; see `CropMode`).
    public var cropMode: CropMode = .center

    /// ImageNet channel statistics, torchvision's defaults.
    public static let imagenetMean: [Float] = [0.485, 0.456, 0.406]
    public static let imagenetStd: [Float] = [0.229, 0.224, 0.225]

    /// A preset with torchvision's defaults (resize 256, bilinear, ImageNet mean/std).
    public init(
        resizeSize: Int = 256, cropSize: Int, interpolation: ResampleFilter = .bilinear,
        mean: [Float] = ClassificationPreset.imagenetMean, std: [Float] = ClassificationPreset.imagenetStd
    ) {
        self.resizeSize = resizeSize
        self.cropSize = cropSize
        self.interpolation = interpolation
        self.mean = mean
        self.std = std
    }

    /// The CHW float tensor for `image`. Throws only for an impossible preset (sizes below 1 or
    /// beyond `ImageLimits`, a zero std, mean/std counts other than 1 or 3).
    public func callAsFunction(_ image: RGBImage) throws -> ImageTensor {
        try ImageTransforms.normalize(ImageTransforms.toTensor(crop(image)), mean: mean, std: std)
    }

    /// The resize and crop alone: the 8-bit `cropSize`×`cropSize` image before normalization.
    public func crop(_ image: RGBImage) throws -> RGBImage {
        switch cropMode {
        case .center:
            let resized = try ImageTransforms.resizeShorterSide(image, to: resizeSize, filter: interpolation)
            return try ImageTransforms.centerCrop(resized, size: cropSize)
        case .squash, .border:
            return try TimmCrops.apply(cropMode, image, resizeSize: resizeSize, cropSize: cropSize,
                                       filter: interpolation, mean: mean)
        }
    }
}

extension ClassificationPreset {
    private enum CodingKeys: String, CodingKey { case resizeSize, cropSize, interpolation, mean, std, cropMode }

    /// Records written before crop modes existed have none: they are center crops.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(resizeSize: try c.decode(Int.self, forKey: .resizeSize), cropSize: try c.decode(Int.self, forKey: .cropSize),
                  interpolation: try c.decode(ResampleFilter.self, forKey: .interpolation),
                  mean: try c.decode([Float].self, forKey: .mean), std: try c.decode([Float].self, forKey: .std))
        cropMode = try c.decodeIfPresent(CropMode.self, forKey: .cropMode) ?? .center
    }

    /// A center crop is written as before (no `cropMode`), so existing records stay byte for byte.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(resizeSize, forKey: .resizeSize)
        try c.encode(cropSize, forKey: .cropSize)
        try c.encode(interpolation, forKey: .interpolation)
        try c.encode(mean, forKey: .mean)
        try c.encode(std, forKey: .std)
        if cropMode != .center { try c.encode(cropMode, forKey: .cropMode) }
    }

    /// `ResNet*_Weights.IMAGENET1K_V1`, `VGG*_Weights.IMAGENET1K_V1`: 256 → 224, bilinear.
    public static let imagenetV1 = ClassificationPreset(resizeSize: 256, cropSize: 224)
    /// `ResNet50/101/152_Weights.IMAGENET1K_V2`: 232 → 224, bilinear.
    public static let resnetV2 = ClassificationPreset(resizeSize: 232, cropSize: 224)
    /// `EfficientNet_B0_Weights.IMAGENET1K_V1`: 256 → 224, bicubic.
    public static let efficientNetB0 = ClassificationPreset(
        resizeSize: 256, cropSize: 224, interpolation: .bicubic)
    /// `EfficientNet_V2_S_Weights.IMAGENET1K_V1`: 384 → 384, bilinear.
    public static let efficientNetV2S = ClassificationPreset(resizeSize: 384, cropSize: 384)
}
