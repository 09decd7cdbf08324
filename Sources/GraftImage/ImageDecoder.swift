import CImageCodecs
import GraftCore

/// Decodes JPEG and PNG files to RGB exactly as `PIL.Image.open(path).convert("RGB")` does.
///
/// JPEG goes through libjpeg(-turbo) with Pillow's settings (islow DCT, fancy upsampling, the
/// library's YCbCr→RGB); greyscale is replicated, CMYK and YCCK are inverted (Pillow assumes
/// Adobe polarity) and converted with Pillow's integer CMYK→RGB formula. PNG samples are converted
/// as Pillow's modes convert: alpha is dropped (not composited), 16-bit colour keeps the high byte,
/// 16-bit grey saturates at 255, 1/2/4-bit grey is scaled to 0…255, palette entries missing from
/// PLTE are black, tRNS is ignored.
///
/// Untrusted input: every failure is an `ImageError` naming the source; the declared size is
/// checked against `DecodeLimits` before any pixel memory is allocated; nothing is printed.
public enum ImageDecoder {
    /// The container formats this decoder reads.
    public enum Format: String, Sendable {
        /// Starts with FF D8 FF.
        case jpeg
        /// Starts with the 8-byte PNG signature.
        case png
    }

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]

    /// The format announced by the first bytes, or nil.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> Format? {
        if bytes.starts(with: pngSignature) { return .png }
        if bytes.starts(with: jpegSignature) { return .jpeg }
        return nil
    }

    /// Decodes the file at `path`.
    public static func decode(path: String, limits: DecodeLimits = DecodeLimits()) throws -> RGBImage {
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch let error as FileError {
            throw ImageError.unreadable(source: path, reason: error.description)
        }
        return try withExtendedLifetime(file) {
            try decode(bytes: file.bytes, source: path, limits: limits)
        }
    }

    /// Decodes an in-memory JPEG or PNG. `source` names it in errors.
    public static func decode(
        bytes: UnsafeRawBufferPointer, source: String = "<memory>", limits: DecodeLimits = DecodeLimits()
    ) throws -> RGBImage {
        guard let format = sniff(bytes) else {
            let isPrefix = !bytes.isEmpty
                && (pngSignature.starts(with: bytes) || jpegSignature.starts(with: bytes))
            if bytes.isEmpty || isPrefix {
                throw ImageError.truncated(source: source, reason: "only \(bytes.count) bytes")
            }
            throw ImageError.unsupportedFormat(source: source)
        }
        let codec: RawCodec = format == .jpeg ? .jpeg : .png
        return try codec.decodeRGB(bytes, source: source, limits: limits)
    }

    /// Decodes an in-memory JPEG or PNG held in an array.
    public static func decode(
        data: [UInt8], source: String = "<memory>", limits: DecodeLimits = DecodeLimits()
    ) throws -> RGBImage {
        try data.withUnsafeBytes { try decode(bytes: $0, source: source, limits: limits) }
    }
}
