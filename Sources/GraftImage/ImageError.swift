/// Everything that can go wrong decoding or transforming an image. Decoding errors name the
/// source (a path, or `<memory>` for bytes) and the reason in one line.
public enum ImageError: Error, CustomStringConvertible, Equatable {
    /// The file cannot be opened or read.
    case unreadable(source: String, reason: String)
    /// Neither a JPEG nor a PNG signature.
    case unsupportedFormat(source: String)
    /// A valid file of a kind this decoder does not handle (12-bit JPEG, 2-component JPEG).
    case unsupportedLayout(source: String, reason: String)
    /// The data ends before the image does.
    case truncated(source: String, reason: String)
    /// The codec rejected the data (bad header, bad checksum, corrupt stream).
    case corrupt(source: String, reason: String)
    /// The declared size is beyond the decompression-bomb limits (checked before allocating).
    case tooLarge(source: String, width: Int, height: Int, limits: DecodeLimits)
    /// A transform was given an impossible size, crop or normalisation.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .unreadable(let s, let r): return "\(s): cannot read image: \(r)"
        case .unsupportedFormat(let s): return "\(s): not a JPEG or PNG image (unknown signature)"
        case .unsupportedLayout(let s, let r): return "\(s): unsupported image layout: \(r)"
        case .truncated(let s, let r): return "\(s): truncated image: \(r)"
        case .corrupt(let s, let r): return "\(s): corrupt image: \(r)"
        case .tooLarge(let s, let w, let h, let l):
            return "\(s): image of \(w)x\(h) exceeds the limit of \(l.maxSide) pixels per side "
                + "and \(l.maxPixels) pixels in all"
        case .invalidArgument(let why): return "invalid image operation: \(why)"
        }
    }
}

/// Decompression-bomb guard: checked against the header before any pixel memory is allocated.
public struct DecodeLimits: Sendable, Equatable {
    /// Largest width or height accepted.
    public var maxSide: Int
    /// Largest `width * height` accepted.
    public var maxPixels: Int

    /// The defaults admit 32768 pixels per side and 2^27 (134 million) pixels in all, about
    /// 400 MB of RGB; Pillow refuses from 179 million pixels.
    public init(maxSide: Int = 1 << 15, maxPixels: Int = 1 << 27) {
        self.maxSide = maxSide
        self.maxPixels = maxPixels
    }
}
