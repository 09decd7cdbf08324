import CImageCodecs

/// The raw sample layouts the C decoders produce, each with the Pillow mode it corresponds to.
enum SampleLayout: Equatable {
    case gray1, gray2, gray4, gray8, gray16          // "1", "L" (L;2, L;4), "L", "I;16"
    case grayAlpha8, grayAlpha16                     // "LA", "RGBA" from LA;16B
    case rgb8, rgb16, rgba8, rgba16                  // "RGB", "RGB" from RGB;16B, "RGBA"
    case palette                                     // "P" (P;1, P;2, P;4, P)
    case cmyk                                        // "CMYK" from CMYK;I

    init?(_ info: gic_info) {
        let depth = info.bit_depth
        switch UInt32(bitPattern: info.color) {
        case GIC_GRAY.rawValue:
            switch depth {
            case 1: self = .gray1
            case 2: self = .gray2
            case 4: self = .gray4
            case 8: self = .gray8
            case 16: self = .gray16
            default: return nil
            }
        case GIC_GRAY_ALPHA.rawValue where depth == 8 || depth == 16:
            self = depth == 8 ? .grayAlpha8 : .grayAlpha16
        case GIC_RGB.rawValue where depth == 8 || depth == 16:
            self = depth == 8 ? .rgb8 : .rgb16
        case GIC_RGBA.rawValue where depth == 8 || depth == 16:
            self = depth == 8 ? .rgba8 : .rgba16
        case GIC_PALETTE.rawValue where [1, 2, 4, 8].contains(depth):
            self = .palette
        case GIC_CMYK.rawValue where depth == 8:
            self = .cmyk
        default:
            return nil
        }
    }
}

/// Pillow's conversions of each mode to "RGB" (libImaging/Convert.c, Unpack.c), re-derived.
enum PixelConversion {
    /// A 256-entry RGB lookup for palette images: entries that PLTE does not define are black,
    /// as in Pillow (an out-of-range index is not an error there either).
    static func paletteTable(_ info: gic_info) -> [UInt8] {
        var table = [UInt8](repeating: 0, count: 768)
        let count = min(max(Int(info.palette_count), 0), 256)
        withUnsafeBytes(of: info.palette) { source in
            for i in 0..<(count * 3) { table[i] = source[i] }
        }
        return table
    }

    /// Widens `pixelCount` grey bytes at the front of `p` to RGB in place (from the back, so no
    /// byte is overwritten before it is read).
    static func widenGrayInPlace(_ p: UnsafeMutablePointer<UInt8>, pixelCount: Int) {
        var i = pixelCount - 1
        while i >= 0 {
            let v = p[i]
            p[3 * i] = v
            p[3 * i + 1] = v
            p[3 * i + 2] = v
            i -= 1
        }
    }

    /// Converts `pixelCount` pixels of `layout` at `src` to RGB at `dst`.
    static func convert(
        _ layout: SampleLayout, from src: UnsafePointer<UInt8>, to dst: UnsafeMutablePointer<UInt8>,
        pixelCount n: Int, palette: [UInt8]
    ) {
        /// Writes one grey value to all three channels of pixel `i`.
        @inline(__always) func gray(_ i: Int, _ v: UInt8) {
            dst[3 * i] = v
            dst[3 * i + 1] = v
            dst[3 * i + 2] = v
        }
        switch layout {
        case .gray1: for i in 0..<n { gray(i, src[i] != 0 ? 255 : 0) }
        case .gray2: for i in 0..<n { gray(i, src[i] &* 85) }
        case .gray4: for i in 0..<n { gray(i, src[i] &* 17) }
        case .gray8: for i in 0..<n { gray(i, src[i]) }
        case .gray16:
            // "I;16" → "RGB" saturates: any value above 255 becomes 255 (not a shift by 8).
            for i in 0..<n { gray(i, src[2 * i] == 0 ? src[2 * i + 1] : 255) }
        case .grayAlpha8: for i in 0..<n { gray(i, src[2 * i]) }
        case .grayAlpha16: for i in 0..<n { gray(i, src[4 * i]) }
        case .rgb8: dst.update(from: src, count: 3 * n)
        case .rgb16: for i in 0..<(3 * n) { dst[i] = src[2 * i] }
        case .rgba8:
            for i in 0..<n {
                dst[3 * i] = src[4 * i]
                dst[3 * i + 1] = src[4 * i + 1]
                dst[3 * i + 2] = src[4 * i + 2]
            }
        case .rgba16:
            for i in 0..<n {
                dst[3 * i] = src[8 * i]
                dst[3 * i + 1] = src[8 * i + 2]
                dst[3 * i + 2] = src[8 * i + 4]
            }
        case .palette:
            palette.withUnsafeBufferPointer { table in
                for i in 0..<n {
                    let k = 3 * Int(src[i])
                    dst[3 * i] = table[k]
                    dst[3 * i + 1] = table[k + 1]
                    dst[3 * i + 2] = table[k + 2]
                }
            }
        case .cmyk:
            for i in 0..<n {
                // Pillow reads JPEG CMYK as "CMYK;I" (inverted, Adobe polarity), then
                // r = 255 - k - (255 - k) * c / 255 with its rounding division by 255.
                let c = 255 - Int(src[4 * i]), m = 255 - Int(src[4 * i + 1])
                let y = 255 - Int(src[4 * i + 2]), k = 255 - Int(src[4 * i + 3])
                let nk = 255 - k
                dst[3 * i] = UInt8(truncatingIfNeeded: nk - mulDiv255(c, nk))
                dst[3 * i + 1] = UInt8(truncatingIfNeeded: nk - mulDiv255(m, nk))
                dst[3 * i + 2] = UInt8(truncatingIfNeeded: nk - mulDiv255(y, nk))
            }
        }
    }

    /// Pillow's `MULDIV255`: a * b / 255 rounded, computed without a division.
    @inline(__always)
    static func mulDiv255(_ a: Int, _ b: Int) -> Int {
        let t = a * b + 128
        return ((t >> 8) + t) >> 8
    }
}
