#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The per-channel look-up-table operations of AutoAugment (Pillow's `ImageOps`, which torchvision calls
/// for PIL images) and torchvision's PIL hue shift.
public enum ToneCurves {
    /// `F.posterize(img, bits)`: keeps the top `bits` (1…8) of every byte.
    public static func posterize(_ image: RGBImage, bits: Int) -> RGBImage {
        let mask = UInt8(truncatingIfNeeded: ~((1 << (8 - min(max(bits, 1), 8))) - 1))
        return mapped(image) { _ in (0...255).map { UInt8($0) & mask } }
    }

    /// `F.solarize(img, threshold)`: bytes at or above `threshold` are inverted.
    public static func solarize(_ image: RGBImage, threshold: Double) -> RGBImage {
        mapped(image) { _ in (0...255).map { Double($0) < threshold ? UInt8($0) : UInt8(255 - $0) } }
    }

    /// `F.autocontrast` (`ImageOps.autocontrast`): each channel stretched so its darkest value becomes 0
    /// and its lightest 255 (`int(i * scale + offset)`, clipped); a flat channel is left alone.
    public static func autocontrast(_ image: RGBImage) -> RGBImage {
        mapped(image) { histogram in
            guard let lo = histogram.firstIndex(where: { $0 > 0 }),
                  let hi = histogram.lastIndex(where: { $0 > 0 }), hi > lo
            else { return (0...255).map { UInt8($0) } }
            let scale = 255.0 / Double(hi - lo), offset = -Double(lo) * scale
            return (0...255).map { UInt8(min(max(Int(Double($0) * scale + offset), 0), 255)) }
        }
    }

    /// `F.equalize` (`ImageOps.equalize`): each channel's cumulative histogram as the map, in Pillow's
    /// integer steps (`step = (count - count of the last used value) // 255`).
    public static func equalize(_ image: RGBImage) -> RGBImage {
        mapped(image) { histogram in
            let used = histogram.filter { $0 > 0 }
            let step = used.count <= 1 ? 0 : (used.reduce(0, +) - used[used.count - 1]) / 255
            guard step > 0 else { return (0...255).map { UInt8($0) } }
            var n = step / 2
            return histogram.map { count in
                defer { n += count }
                return UInt8(min(n / step, 255))
            }
        }
    }

    /// `F.adjust_hue` for PIL images: to Pillow's 8-bit HSV, hue plus `int(factor * 255)` wrapping
    /// around, back to RGB. `factor` is in -0.5…0.5.
    public static func hue(_ image: RGBImage, factor: Double) -> RGBImage {
        let shift = UInt8(truncatingIfNeeded: Int32(factor * 255))
        var out = image.pixels
        for i in stride(from: 0, to: out.count, by: 3) {
            let (h, s, v) = toHSV(out[i], out[i + 1], out[i + 2])
            (out[i], out[i + 1], out[i + 2]) = toRGB(h &+ shift, s, v)
        }
        return RGBImage(unchecked: image.width, height: image.height, pixels: out)
    }

    /// Pillow's `rgb2hsv_row` (colorsys in C, mixing float and double as there).
    static func toHSV(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> (UInt8, UInt8, UInt8) {
        let maxc = max(r, g, b), minc = min(r, g, b)
        guard minc != maxc else { return (0, 0, maxc) }
        let cr = Float(maxc - minc)
        let s = cr / Float(maxc)
        let rc = Float(maxc - r) / cr, gc = Float(maxc - g) / cr, bc = Float(maxc - b) / cr
        var h: Float
        if r == maxc {
            h = bc - gc
        } else if g == maxc {
            h = Float(2.0 + Double(rc) - Double(bc))
        } else {
            h = Float(4.0 + Double(gc) - Double(rc))
        }
        h = Float(fmod(Double(h) / 6.0 + 1.0, 1.0))
        return (clip8(Int(Double(h) * 255.0)), clip8(Int(Double(s) * 255.0)), maxc)
    }

    /// Pillow's `hsv2rgb`.
    static func toRGB(_ h: UInt8, _ s: UInt8, _ v: UInt8) -> (UInt8, UInt8, UInt8) {
        guard s != 0 else { return (v, v, v) }
        let i = Int(floor(Double(Float(h)) * 6.0 / 255.0))
        let f = Float(Double(Float(h)) * 6.0 / 255.0 - Double(Float(i)))
        let fs = Float(Double(Float(s)) / 255.0)
        let fv = Double(Float(v))
        let p = clip8(Int((fv * (1.0 - Double(fs))).rounded()))
        let q = clip8(Int((fv * (1.0 - Double(fs * f))).rounded()))
        // Here `1.0 - f` is a double, so the product is too (unlike q's).
        let t = clip8(Int((fv * (1.0 - Double(fs) * (1.0 - Double(f)))).rounded()))
        switch i % 6 {
        case 0: return (v, t, p)
        case 1: return (q, v, p)
        case 2: return (p, v, t)
        case 3: return (p, q, v)
        case 4: return (t, p, v)
        default: return (v, p, q)
        }
    }

    private static func clip8(_ v: Int) -> UInt8 { UInt8(min(max(v, 0), 255)) }

    /// Applies one 256-entry table per channel, each made from that channel's histogram.
    private static func mapped(_ image: RGBImage, table: ([Int]) -> [UInt8]) -> RGBImage {
        var counts = [Int](repeating: 0, count: 768)
        image.pixels.withUnsafeBufferPointer { p in
            counts.withUnsafeMutableBufferPointer { h in
                for i in stride(from: 0, to: p.count, by: 3) {
                    h[Int(p[i])] += 1
                    h[256 + Int(p[i + 1])] += 1
                    h[512 + Int(p[i + 2])] += 1
                }
            }
        }
        let lut = (0..<3).flatMap { c in table(Array(counts[(c * 256)..<(c * 256 + 256)])) }
        var out = image.pixels
        lut.withUnsafeBufferPointer { t in
            out.withUnsafeMutableBufferPointer { p in
                for i in stride(from: 0, to: p.count, by: 3) {
                    p[i] = t[Int(p[i])]
                    p[i + 1] = t[256 + Int(p[i + 1])]
                    p[i + 2] = t[512 + Int(p[i + 2])]
                }
            }
        }
        return RGBImage(unchecked: image.width, height: image.height, pixels: out)
    }
}
