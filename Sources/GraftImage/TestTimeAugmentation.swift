/// Test-time augmentation (`predict --tta`, fine-tuning's validation): the views of one image whose
/// predicted probabilities are averaged (fastai's `tta` averages probabilities too).
public enum TTAMode: String, Sendable, CaseIterable, Codable {
    /// The evaluation crop and its mirror image.
    case flip
    /// torchvision's `TenCrop(cropSize)` after `Resize(resizeSize)`: the four corner crops and the
    /// centre crop of the resized image, then the same five of its mirror image.
    case tenCrop = "ten-crop"

    public var viewCount: Int { self == .flip ? 2 : 10 }
}

extension ImagePipeline {
    /// The normalized tensors of every view of `image` (the first is the ordinary evaluation tensor for
    /// `.flip`, the top-left crop for `.tenCrop`, in torchvision's order).
    public func views(_ image: RGBImage, _ mode: TTAMode) throws -> [ImageTensor] {
        switch (mode, self) {
        case (.flip, .torchvision(let p)):
            let crop = try p.crop(image)
            return try [crop, ImageTransforms.horizontalFlip(crop)].map(p.normalized)
        case (.flip, .keras):
            // Keras' pipeline has no crop: mirror the decoded image and run the same steps.
            return try [evaluate(image), evaluate(ImageTransforms.horizontalFlip(image))]
        case (.tenCrop, .torchvision(let p)) where p.cropMode == .center:
            let resized = try ImageTransforms.resizeShorterSide(image, to: p.resizeSize, filter: p.interpolation)
            return try (fiveCrop(resized, p.cropSize) + fiveCrop(ImageTransforms.horizontalFlip(resized), p.cropSize)).map(p.normalized)
        case (.tenCrop, _):
            throw ImageError.invalidArgument("ten-crop needs a torchvision resize-and-centre-crop preset; this pipeline is \(summary)")
        }
    }

    /// torchvision's `five_crop`: top-left, top-right, bottom-left, bottom-right, centre.
    func fiveCrop(_ image: RGBImage, _ size: Int) throws -> [RGBImage] {
        let (h, w) = (image.height, image.width)
        guard size <= h, size <= w else {
            throw ImageError.invalidArgument("a \(size)×\(size) crop of a \(w)×\(h) image")
        }
        return [try ImageTransforms.crop(image, top: 0, left: 0, height: size, width: size),
                try ImageTransforms.crop(image, top: 0, left: w - size, height: size, width: size),
                try ImageTransforms.crop(image, top: h - size, left: 0, height: size, width: size),
                try ImageTransforms.crop(image, top: h - size, left: w - size, height: size, width: size),
                try ImageTransforms.centerCrop(image, size: size)]
    }
}

extension ClassificationPreset {
    /// ToTensor and Normalize of an already cropped 8-bit image.
    func normalized(_ image: RGBImage) throws -> ImageTensor {
        try ImageTransforms.normalize(ImageTransforms.toTensor(image), mean: mean, std: std)
    }
}
