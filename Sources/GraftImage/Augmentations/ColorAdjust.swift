/// torchvision's colour adjustments of a PIL image, which are Pillow's `ImageEnhance` classes: each blends
/// the image with a "degenerate" version of itself (`Image.blend(degenerate, image, factor)`), in Pillow's
/// float32 arithmetic and truncation to bytes, so the bytes equal Pillow's.
public enum ColorAdjust {
    /// `F.adjust_brightness`: a blend with black.
    public static func brightness(_ image: RGBImage, factor: Double) -> RGBImage {
        blend(RGBImage(unchecked: image.width, height: image.height,
                       pixels: [UInt8](repeating: 0, count: image.pixels.count)), image, factor)
    }

    /// `F.adjust_saturation` (`ImageEnhance.Color`): a blend with the image's grey version (`convert("L")`).
    public static func saturation(_ image: RGBImage, factor: Double) -> RGBImage {
        var grey = image.pixels
        for i in stride(from: 0, to: grey.count, by: 3) {
            let l = luma(image.pixels[i], image.pixels[i + 1], image.pixels[i + 2])
            grey[i] = l; grey[i + 1] = l; grey[i + 2] = l
        }
        return blend(RGBImage(unchecked: image.width, height: image.height, pixels: grey), image, factor)
    }

    /// `F.adjust_contrast` (`ImageEnhance.Contrast`): a blend with a flat grey at the image's mean luma,
    /// rounded half up (`int(mean + 0.5)`).
    public static func contrast(_ image: RGBImage, factor: Double) -> RGBImage {
        var sum = 0
        for i in stride(from: 0, to: image.pixels.count, by: 3) {
            sum += Int(luma(image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]))
        }
        let mean = Double(sum) / Double(image.width * image.height)
        let grey = UInt8(min(255, Int(mean + 0.5)))
        return blend(RGBImage(unchecked: image.width, height: image.height,
                              pixels: [UInt8](repeating: grey, count: image.pixels.count)), image, factor)
    }

    /// `F.adjust_sharpness` (`ImageEnhance.Sharpness`): a blend with Pillow's SMOOTH filter of the image.
    public static func sharpness(_ image: RGBImage, factor: Double) -> RGBImage {
        blend(smoothed(image), image, factor)
    }

    /// Pillow's `L24` conversion to grey: fixed-point ITU-R 601 weights, rounded.
    @inline(__always)
    static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        let weighted: Int = Int(r) * 19595 + Int(g) * 38470 + Int(b) * 7471
        return UInt8((weighted + 0x8000) >> 16)
    }

    /// Pillow's `ImagingBlend`: `in1 + alpha * (in2 - in1)` in float32 with a float32 `alpha`, truncated;
    /// clipped to 0…255 when `alpha` extrapolates. Factors 0 and 1 return a copy of one side.
    static func blend(_ degenerate: RGBImage, _ image: RGBImage, _ factor: Double) -> RGBImage {
        let alpha = Float(factor)
        if alpha == 0 { return degenerate }
        if alpha == 1 { return image }
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        let interpolating = alpha >= 0 && alpha <= 1
        degenerate.pixels.withUnsafeBufferPointer { a in
            image.pixels.withUnsafeBufferPointer { b in
                for i in 0..<out.count {
                    let base = Int32(a[i])
                    let value = Float(base) + alpha * Float(Int32(b[i]) - base)
                    if interpolating {
                        out[i] = UInt8(value)
                    } else {
                        out[i] = value <= 0 ? 0 : value >= 255 ? 255 : UInt8(value)
                    }
                }
            }
        }
        return RGBImage(unchecked: image.width, height: image.height, pixels: out)
    }

    /// Pillow's `ImageFilter.SMOOTH` (3×3 kernel 1 1 1 / 1 5 1 / 1 1 1 over 13): float32 weights, the
    /// rows summed bottom, middle, top as `ImagingFilter3x3` does, plus 0.5, clipped and truncated. The
    /// border rows and columns are copied, and an image under 3×3 is returned unchanged.
    static func smoothed(_ image: RGBImage) -> RGBImage {
        let w = image.width, h = image.height
        guard w >= 3, h >= 3 else { return image }
        let side = Float(1) / Float(13), middle = Float(5) / Float(13)
        var out = image.pixels
        image.pixels.withUnsafeBufferPointer { p in
            for y in 1..<(h - 1) {
                let above = (y - 1) * w * 3, row = y * w * 3, below = (y + 1) * w * 3
                for x in 1..<(w - 1) {
                    for c in 0..<3 {
                        let i = x * 3 + c
                        func line(_ r: Int, _ centre: Float) -> Float {
                            Float(p[r + i - 3]) * side + Float(p[r + i]) * centre + Float(p[r + i + 3]) * side
                        }
                        var sum: Float = 0.5
                        sum += line(below, side)
                        sum += line(row, middle)
                        sum += line(above, side)
                        out[row + i] = sum <= 0 ? 0 : sum >= 255 ? 255 : UInt8(sum)
                    }
                }
            }
        }
        return RGBImage(unchecked: w, height: h, pixels: out)
    }
}
