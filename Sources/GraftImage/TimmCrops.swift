import GraftCore

/// How an eval transform brings an image to its crop. `center` is torchvision's (resize the shorter
/// side, crop the middle); timm's `transforms_imagenet_eval` adds two more.
public enum CropMode: String, Sendable, Codable, CaseIterable {
    case center
    /// Both sides to the resize size (aspect not kept), then the center crop.
    case squash
    /// The longer side to the resize size (aspect kept), then padded with the mean colour and cropped.
    case border
}

/// timm's `squash` and `border` eval crops (`timm/data/transforms_factory.py`), on PIL-exact resampling.
enum TimmCrops {
    static func apply(_ mode: CropMode, _ image: RGBImage, resizeSize: Int, cropSize: Int, filter: ResampleFilter,
                      mean: [Float]) throws -> RGBImage {
        guard (1...(1 << 20)).contains(resizeSize) else { throw ImageError.invalidArgument("resize to \(resizeSize) pixels") }
        switch mode {
        case .center:
            let resized = try ImageTransforms.resizeShorterSide(image, to: resizeSize, filter: filter)
            return try ImageTransforms.centerCrop(resized, size: cropSize)
        case .squash:
            // transforms.Resize((s, s)) then CenterCrop.
            let resized = try Resampler.resize(image, width: resizeSize, height: resizeSize, filter: filter)
            return try ImageTransforms.centerCrop(resized, size: cropSize)
        case .border:
            // ResizeKeepRatio(longest=1): ratio = max(h / s, w / s); size = round(side / ratio), Python's
            // round (half to even); then CenterCropOrPad with fill round(255 · mean).
            let ratio = max(Double(image.height) / Double(resizeSize), Double(image.width) / Double(resizeSize))
            let height = max(1, Int((Double(image.height) / ratio).rounded(.toNearestOrEven)))
            let width = max(1, Int((Double(image.width) / ratio).rounded(.toNearestOrEven)))
            let resized = try Resampler.resize(image, width: width, height: height, filter: filter)
            let fill = (0..<3).map { UInt8(clamping: Int((255 * Double(mean.count == 3 ? mean[$0] : mean[0])).rounded(.toNearestOrEven))) }
            return try centerCropOrPad(resized, size: cropSize, fill: fill)
        }
    }

    /// timm's `center_crop_or_pad`: pad a side shorter than the crop (left/top get the smaller half)
    /// with `fill`, then crop the center (offset `round((H − h) / 2)`, half to even).
    static func centerCropOrPad(_ image: RGBImage, size: Int, fill: [UInt8]) throws -> RGBImage {
        func offset(_ side: Int) -> Int {
            side < size ? -((size - side) / 2) : Int((Double(side - size) / 2).rounded(.toNearestOrEven))
        }
        let top = offset(image.height), left = offset(image.width)
        var out = try ImageTransforms.crop(image, top: top, left: left, height: size, width: size)
        guard top < 0 || left < 0 else { return out }
        var pixels = out.pixels
        for y in 0..<size {
            let sy = y + top
            for x in 0..<size {
                let sx = x + left
                if sy < 0 || sy >= image.height || sx < 0 || sx >= image.width {
                    for c in 0..<3 { pixels[(y * size + x) * 3 + c] = fill[c] }
                }
            }
        }
        out = try RGBImage(width: size, height: size, pixels: pixels)
        return out
    }
}
