import CImageCodecs
import GraftCore

/// Encodes an `RGBImage` as PNG (libpng), and writes it atomically.
public enum PNGWriter {
    public static func write(_ image: RGBImage, to path: String) throws {
        let bytes = try encode(image)
        let writer = try AtomicFileWriter(destination: path)
        try writer.write(bytes)
        try writer.commit()
    }

    /// The PNG file's bytes, for a caller that commits several files together.
    public static func encode(_ image: RGBImage) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: Int(GIC_MESSAGE_LENGTH))
        let status = image.pixels.withUnsafeBufferPointer { px in
            gic_png_encode_rgb(px.baseAddress, UInt32(image.width), UInt32(image.height), &out, &size, &message)
        }
        guard status == GIC_OK, let bytes = out else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ImageError.invalidArgument("PNG encoding failed: \(text)")
        }
        defer { gic_free(bytes) }
        return Array(UnsafeBufferPointer(start: bytes, count: size))
    }
}
