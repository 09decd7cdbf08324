import GraftCore

/// torchvision's functional transforms for PIL images (`transforms/functional.py`), re-derived
/// so that a pipeline built from them reproduces torchvision's output exactly. Public so the
/// training augmentations can reuse them.
public enum ImageTransforms {
    /// The size torchvision's `resize(img, [size])` produces: the shorter side becomes `size`,
    /// the longer one `int(size * long / short)`, truncated (`_compute_resized_output_size`).
    /// Nil when a side is below 1 or the result is absurdly large.
    public static func shorterSideSize(width: Int, height: Int, to size: Int) -> (width: Int, height: Int)? {
        guard width >= 1, height >= 1, size >= 1 else { return nil }
        let (short, long) = width <= height ? (width, height) : (height, width)
        // Python multiplies exactly, then divides with correct rounding: the same as a double
        // division while the product stays below 2^53.
        guard let product = Checked.mul(size, long), product < 1 << 53 else { return nil }
        let newLong = Int((Double(product) / Double(short)).rounded(.towardZero))
        return width <= height ? (size, newLong) : (newLong, size)
    }

    /// `F.resize(img, [size], interpolation)`: the shorter side to `size`, aspect kept. An image
    /// already of that size is returned unchanged (torchvision returns early too).
    public static func resizeShorterSide(
        _ image: RGBImage, to size: Int, filter: ResampleFilter
    ) throws -> RGBImage {
        guard size >= 1, size <= 1 << 20 else {
            throw ImageError.invalidArgument("shorter side of \(size) pixels")
        }
        guard let target = shorterSideSize(width: image.width, height: image.height, to: size) else {
            throw ImageError.invalidArgument(
                "cannot resize \(image.width)x\(image.height) to a side of \(size)")
        }
        return try Resampler.resize(image, width: target.width, height: target.height, filter: filter)
    }

    /// `F.center_crop(img, [size])` for a square crop.
    public static func centerCrop(_ image: RGBImage, size: Int) throws -> RGBImage {
        try centerCrop(image, height: size, width: size)
    }

    /// `F.center_crop(img, [height, width])`. The offset is `int(round((H - h) / 2))`, Python's
    /// round-half-to-even; a crop larger than the image pads it with zeros, the extra pixel of an
    /// odd padding going to the right / bottom, as torchvision's `pad` + crop does.
    public static func centerCrop(_ image: RGBImage, height: Int, width: Int) throws -> RGBImage {
        func offset(_ imageSide: Int, _ cropSide: Int) -> Int {
            if cropSide > imageSide { return -((cropSide - imageSide) / 2) }
            return Int((Double(imageSide - cropSide) / 2).rounded(.toNearestOrEven))
        }
        return try crop(image, top: offset(image.height, height), left: offset(image.width, width),
                        height: height, width: width)
    }

    /// `F.crop(img, top, left, height, width)`, i.e. PIL's `crop((left, top, left + width,
    /// top + height))`: the box may extend past the image, where the result is black.
    public static func crop(
        _ image: RGBImage, top: Int, left: Int, height: Int, width: Int
    ) throws -> RGBImage {
        guard height >= 1, width >= 1, let count = Checked.byteCount([height, width], itemSize: 3),
              count <= ImageLimits.maxOutputBytes,
              top > Int.min / 2, top < Int.max / 2, left > Int.min / 2, left < Int.max / 2
        else { throw ImageError.invalidArgument("crop of \(width)x\(height) at (\(left), \(top))") }
        if top == 0 && left == 0 && height == image.height && width == image.width { return image }
        var pixels = [UInt8](repeating: 0, count: count)
        // The overlap of the box with the image, in image coordinates.
        let x0 = max(left, 0), x1 = min(left + width, image.width)
        let y0 = max(top, 0), y1 = min(top + height, image.height)
        if x0 < x1 && y0 < y1 {
            let runBytes = (x1 - x0) * 3
            image.pixels.withUnsafeBufferPointer { src in
                pixels.withUnsafeMutableBufferPointer { dst in
                    guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                    for y in y0..<y1 {
                        let from = s + (y * image.width + x0) * 3
                        let to = d + ((y - top) * width + (x0 - left)) * 3
                        to.update(from: from, count: runBytes)
                    }
                }
            }
        }
        return RGBImage(unchecked: width, height: height, pixels: pixels)
    }

    /// `F.hflip`: mirrors every row.
    public static func horizontalFlip(_ image: RGBImage) -> RGBImage {
        var pixels = image.pixels
        let w = image.width
        pixels.withUnsafeMutableBufferPointer { buffer in
            for y in 0..<image.height {
                let row = y * w * 3
                for x in 0..<w {
                    let s = row + (w - 1 - x) * 3
                    buffer[row + 3 * x] = image.pixels[s]
                    buffer[row + 3 * x + 1] = image.pixels[s + 1]
                    buffer[row + 3 * x + 2] = image.pixels[s + 2]
                }
            }
        }
        return RGBImage(unchecked: w, height: image.height, pixels: pixels)
    }

    /// `pil_to_tensor` then `convert_image_dtype(torch.float)`: CHW, each byte divided by 255 in
    /// float32 (a true division, as torch does, not a multiplication by 1/255).
    public static func toTensor(_ image: RGBImage) -> ImageTensor {
        let plane = image.width * image.height
        var values = [Float](repeating: 0, count: plane * 3)
        values.withUnsafeMutableBufferPointer { out in
            image.pixels.withUnsafeBufferPointer { px in
                for i in 0..<plane {
                    out[i] = Float(px[3 * i]) / 255
                    out[plane + i] = Float(px[3 * i + 1]) / 255
                    out[2 * plane + i] = Float(px[3 * i + 2]) / 255
                }
            }
        }
        return ImageTensor(unchecked: 3, height: image.height, width: image.width, values: values)
    }

    /// `v2.ToDtype(torch.float32, scale=True)` after `PILToTensor`, the v2 training recipes' conversion:
    /// each byte times float32(1/255) (`mul_(1.0 / 255)`), which differs from `toTensor`'s division by at
    /// most one unit in the last place.
    public static func toScaledTensor(_ image: RGBImage) -> ImageTensor {
        let plane = image.width * image.height
        let scale = Float(1.0 / 255.0)
        var values = [Float](repeating: 0, count: plane * 3)
        values.withUnsafeMutableBufferPointer { out in
            image.pixels.withUnsafeBufferPointer { px in
                for i in 0..<plane {
                    out[i] = Float(px[3 * i]) * scale
                    out[plane + i] = Float(px[3 * i + 1]) * scale
                    out[2 * plane + i] = Float(px[3 * i + 2]) * scale
                }
            }
        }
        return ImageTensor(unchecked: 3, height: image.height, width: image.width, values: values)
    }

    /// `F.normalize(tensor, mean, std)`: `(x - mean[c]) / std[c]` in float32, one value per
    /// channel (or one for all channels).
    public static func normalize(_ tensor: ImageTensor, mean: [Float], std: [Float]) throws -> ImageTensor {
        let c = tensor.channels
        guard mean.count == c || mean.count == 1, std.count == c || std.count == 1 else {
            throw ImageError.invalidArgument("\(mean.count) means and \(std.count) stds for \(c) channels")
        }
        guard std.allSatisfy({ $0 != 0 && $0.isFinite }), mean.allSatisfy(\.isFinite) else {
            throw ImageError.invalidArgument("std must be finite and non-zero, mean finite")
        }
        let plane = tensor.height * tensor.width
        var values = tensor.values
        values.withUnsafeMutableBufferPointer { v in
            for channel in 0..<c {
                let m = mean.count == 1 ? mean[0] : mean[channel]
                let s = std.count == 1 ? std[0] : std[channel]
                for i in (channel * plane)..<((channel + 1) * plane) { v[i] = (v[i] - m) / s }
            }
        }
        return ImageTensor(unchecked: c, height: tensor.height, width: tensor.width, values: values)
    }
}
