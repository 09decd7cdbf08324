#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Geometric augmentations as torchvision applies them to a PIL image: `F.rotate` and `F.affine` build a
/// matrix that maps each output pixel back to the input, and Pillow samples the nearest input pixel
/// (`Image.transform(size, AFFINE, matrix, NEAREST)`, fill 0). Pillow's nearest-neighbour warp runs in 16.16
/// fixed point when the image is small enough, so the matrix is rounded the way Pillow rounds it; without
/// that, pixels on a rounding boundary land one column off.
public enum AffineWarp {
    /// `F.rotate(img, angle, NEAREST, expand=False, center=None, fill=0)`: counter-clockwise by `degrees`
    /// about the image centre. Pillow's fast paths are kept (0° copies, 180° and, on square images, ±90°
    /// transpose), since the general warp would place some rows differently.
    public static func rotate(_ image: RGBImage, degrees: Double) -> RGBImage {
        let angle = pythonModulo(degrees, 360)
        if angle == 0 { return image }
        if angle == 180 { return transposed(image) { w, h, x, y in (w - 1 - x, h - 1 - y) } }
        if (angle == 90 || angle == 270) && image.width == image.height {
            // ROTATE_90 moves the top-right corner to the top-left; ROTATE_270 the bottom-left.
            return angle == 90 ? transposed(image) { w, _, x, y in (w - 1 - y, x) }
                : transposed(image) { _, h, x, y in (y, h - 1 - x) }
        }
        let radians = -(angle * degreesToRadians)
        let cosine = roundedTo15Digits(cos(radians)), sine = roundedTo15Digits(sin(radians))
        var m = [cosine, sine, 0.0, roundedTo15Digits(-sin(radians)), cosine, 0.0]
        let cx = Double(image.width) / 2, cy = Double(image.height) / 2
        // Image.rotate maps the centre with the rotation, then moves it back.
        m[2] = m[0] * -cx + m[1] * -cy + m[2] + cx
        m[5] = m[3] * -cx + m[4] * -cy + m[5] + cy
        return warp(image, inverse: m)
    }

    /// `F.affine(img, angle, translate, scale, shear, NEAREST, fill=0, center)`: rotation by `angle`
    /// degrees, shears in degrees, then scale and a translation in pixels, about `center` (nil: the
    /// image centre; AutoAugment's shears pass (0, 0)). `scale` must be positive.
    public static func affine(
        _ image: RGBImage, angle: Double, translate: (x: Double, y: Double), scale: Double,
        shear: (x: Double, y: Double), center: (x: Double, y: Double)? = nil
    ) -> RGBImage {
        let c = center ?? (Double(image.width) * 0.5, Double(image.height) * 0.5)
        let m = inverseMatrix(center: c, angle: angle, translate: translate, scale: scale, shear: shear)
        return warp(image, inverse: m)
    }

    /// torchvision's `_get_inverse_affine_matrix`: the output-to-input matrix of rotate-scale-shear about
    /// `center` followed by the translation, in its own order of operations (doubles, as Python).
    static func inverseMatrix(
        center: (x: Double, y: Double), angle: Double, translate: (x: Double, y: Double), scale: Double,
        shear: (x: Double, y: Double)
    ) -> [Double] {
        let rot = angle * degreesToRadians, sx = shear.x * degreesToRadians, sy = shear.y * degreesToRadians
        let cosSy = cos(sy), tanSx = tan(sx)
        let a = cos(rot - sy) / cosSy
        let b = -(a * tanSx + sin(rot))
        let c = sin(rot - sy) / cosSy
        let d = cos(rot) - c * tanSx
        var m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
        let x = center.x + translate.x, y = center.y + translate.y
        m[2] += center.x - m[0] * x - m[1] * y
        m[5] += center.y - m[3] * x - m[4] * y
        return m
    }

    /// Pillow's `ImagingTransformAffine` with the nearest filter: `m` maps output pixel corners to input
    /// coordinates; pixels that map outside the input stay black.
    static func warp(_ image: RGBImage, inverse m: [Double]) -> RGBImage {
        let w = image.width, h = image.height
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        func copy(_ dst: Int, _ sx: Int, _ sy: Int) {
            let s = (sy * w + sx) * 3
            out[dst] = image.pixels[s]; out[dst + 1] = image.pixels[s + 1]; out[dst + 2] = image.pixels[s + 2]
        }
        if m[1] == 0 && m[3] == 0 {
            // ImagingScaleAffine: positions accumulate by repeated addition, as there.
            var columns = [Int](repeating: -1, count: w)
            var xo = m[2] + m[0] * 0.5
            for x in 0..<w {
                let xin = coordinate(xo)
                if xin >= 0 && xin < w { columns[x] = xin }
                xo += m[0]
            }
            var yo = m[5] + m[4] * 0.5
            for y in 0..<h {
                let yin = coordinate(yo)
                if yin >= 0 && yin < h {
                    for x in 0..<w where columns[x] >= 0 { copy((y * w + x) * 3, columns[x], yin) }
                }
                yo += m[4]
            }
        } else if fitsFixedPoint(m, w, h) {
            let a0 = fixed(m[0]), a1 = fixed(m[1]), a3 = fixed(m[3]), a4 = fixed(m[4])
            var a2 = fixed(m[2] + m[0] * 0.5 + m[1] * 0.5), a5 = fixed(m[5] + m[3] * 0.5 + m[4] * 0.5)
            for y in 0..<h {
                var xx = a2, yy = a5
                for x in 0..<w {
                    let xin = Int(xx >> 16), yin = Int(yy >> 16)
                    if xin >= 0 && xin < w && yin >= 0 && yin < h { copy((y * w + x) * 3, xin, yin) }
                    xx &+= a0
                    yy &+= a3
                }
                a2 &+= a1
                a5 &+= a4
            }
        } else {
            var xo = m[2] + m[1] * 0.5 + m[0] * 0.5, yo = m[5] + m[4] * 0.5 + m[3] * 0.5
            for y in 0..<h {
                var xx = xo, yy = yo
                for x in 0..<w {
                    let xin = coordinate(xx), yin = coordinate(yy)
                    if xin >= 0 && xin < w && yin >= 0 && yin < h { copy((y * w + x) * 3, xin, yin) }
                    xx += m[0]
                    yy += m[3]
                }
                xo += m[1]
                yo += m[4]
            }
        }
        return RGBImage(unchecked: w, height: h, pixels: out)
    }

    /// Python's `math.radians` multiplies by this constant (rather than dividing by 180 after).
    private static let degreesToRadians = Double.pi / 180

    /// Pillow's `COORD`: negative positions are outside, others truncate.
    private static func coordinate(_ v: Double) -> Int {
        v < 0 ? -1 : (v < 0x1p62 ? Int(v) : Int.max)
    }

    /// Pillow's `FIX`: 16.16 fixed point, rounded half up (Pillow's `check_fixed` keeps it in range).
    private static func fixed(_ v: Double) -> Int32 { Int32(truncatingIfNeeded: Int((v * 65536 + 0.5).rounded(.down))) }

    /// Pillow's `check_fixed` at the four corners: every mapped coordinate below 32768 in magnitude.
    private static func fitsFixedPoint(_ m: [Double], _ w: Int, _ h: Int) -> Bool {
        [(0, 0), (w, h), (0, h), (w, 0)].allSatisfy { x, y in
            abs(Double(x) * m[0] + Double(y) * m[1] + m[2]) < 32768
                && abs(Double(x) * m[3] + Double(y) * m[4] + m[5]) < 32768
        }
    }

    /// Pillow's `Image.transpose`, given where output pixel (x, y) reads from.
    private static func transposed(_ image: RGBImage, _ source: (Int, Int, Int, Int) -> (Int, Int)) -> RGBImage {
        let w = image.width, h = image.height
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        for y in 0..<h {
            for x in 0..<w {
                let (sx, sy) = source(w, h, x, y)
                let s = (sy * w + sx) * 3, d = (y * w + x) * 3
                out[d] = image.pixels[s]; out[d + 1] = image.pixels[s + 1]; out[d + 2] = image.pixels[s + 2]
            }
        }
        return RGBImage(unchecked: w, height: h, pixels: out)
    }

    /// Python's `x % m` for floats (the result takes the divisor's sign).
    static func pythonModulo(_ x: Double, _ m: Double) -> Double {
        var r = fmod(x, m)
        if r != 0 && (r < 0) != (m < 0) { r += m }
        return r
    }

    /// Python's `round(x, 15)`: the double nearest the correctly rounded 15-decimal value, which is what
    /// printf's `%.15f` then strtod give.
    static func roundedTo15Digits(_ x: Double) -> Double {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([x]) { vsnprintf(&buffer, buffer.count, "%.15f", $0) }
        return strtod(buffer, nil)
    }
}
