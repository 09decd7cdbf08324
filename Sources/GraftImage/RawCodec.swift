import CImageCodecs
import GraftCore

/// The C decoders behind one interface: open (header only), check limits, allocate, read, close.
struct RawCodec {
    typealias Open = (
        UnsafePointer<UInt8>?, Int, UInt32, UnsafeMutablePointer<OpaquePointer?>,
        UnsafeMutablePointer<gic_info>, UnsafeMutablePointer<CChar>
    ) -> gic_status
    typealias Read = (
        OpaquePointer, UnsafeMutablePointer<UInt8>, Int, UnsafeMutablePointer<CChar>
    ) -> gic_status
    typealias Close = (OpaquePointer) -> Void

    let open: Open
    let read: Read
    let close: Close

    static let jpeg = RawCodec(open: gic_jpeg_open, read: gic_jpeg_read, close: gic_jpeg_close)
    static let png = RawCodec(open: gic_png_open, read: gic_png_read, close: gic_png_close)

    /// Decodes `bytes` and converts the samples to RGB as Pillow's `convert("RGB")`.
    func decodeRGB(_ bytes: UnsafeRawBufferPointer, source: String, limits: DecodeLimits) throws -> RGBImage {
        var message = [CChar](repeating: 0, count: Int(GIC_MESSAGE_LENGTH) + 1)
        var info = gic_info()
        var handle: OpaquePointer?
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let maxSide = UInt32(clamping: limits.maxSide)
        let opened = open(base, bytes.count, maxSide, &handle, &info, &message)
        try Self.check(opened, message: message, source: source, info: info, limits: limits)
        guard let decoder = handle else {
            throw ImageError.corrupt(source: source, reason: "decoder did not start")
        }
        defer { close(decoder) }

        let width = Int(info.width), height = Int(info.height)
        guard width >= 1, height >= 1 else {
            throw ImageError.corrupt(source: source, reason: "zero-sized image (\(width)x\(height))")
        }
        guard width <= limits.maxSide, height <= limits.maxSide,
              let pixelCount = Checked.mul(width, height), pixelCount <= limits.maxPixels,
              let rgbBytes = Checked.mul(pixelCount, 3),
              let rawBytes = Checked.mul(info.row_bytes, height)
        else {
            throw ImageError.tooLarge(source: source, width: width, height: height, limits: limits)
        }
        guard let layout = SampleLayout(info) else {
            throw ImageError.unsupportedLayout(
                source: source, reason: "colour \(info.color) with \(info.bit_depth)-bit samples")
        }

        // 8-bit RGB is decoded straight into the result; 8-bit grey into its front, then widened
        // in place from the back. Other layouts go through a raw buffer.
        if layout == .rgb8 || layout == .gray8 {
            var status = GIC_OK
            var pixels = [UInt8](unsafeUninitializedCapacity: rgbBytes) { buffer, count in
                // UInt8 needs no initialisation; on failure the array is thrown away unread.
                count = rgbBytes
                if let p = buffer.baseAddress { status = read(decoder, p, rawBytes, &message) }
            }
            try Self.check(status, message: message, source: source, info: info, limits: limits)
            if layout == .gray8 {
                pixels.withUnsafeMutableBufferPointer { buffer in
                    guard let p = buffer.baseAddress else { return }
                    PixelConversion.widenGrayInPlace(p, pixelCount: pixelCount)
                }
            }
            return RGBImage(unchecked: width, height: height, pixels: pixels)
        }

        var raw = [UInt8](repeating: 0, count: rawBytes)
        let status = raw.withUnsafeMutableBufferPointer { buffer -> gic_status in
            guard let p = buffer.baseAddress else { return GIC_BAD_CALL }
            return read(decoder, p, rawBytes, &message)
        }
        try Self.check(status, message: message, source: source, info: info, limits: limits)
        let palette = PixelConversion.paletteTable(info)
        let pixels = [UInt8](unsafeUninitializedCapacity: rgbBytes) { out, count in
            raw.withUnsafeBufferPointer { input in
                if let src = input.baseAddress, let dst = out.baseAddress {
                    PixelConversion.convert(
                        layout, from: src, to: dst, pixelCount: pixelCount, palette: palette)
                }
            }
            count = rgbBytes
        }
        return RGBImage(unchecked: width, height: height, pixels: pixels)
    }

    /// Turns a C status into the matching `ImageError`.
    static func check(
        _ status: gic_status, message: [CChar], source: String, info: gic_info, limits: DecodeLimits
    ) throws {
        if status == GIC_OK { return }
        let reason = message.withUnsafeBufferPointer { buffer -> String in
            guard let p = buffer.baseAddress else { return "" }
            return String(cString: p)
        }
        switch status {
        case GIC_TRUNCATED: throw ImageError.truncated(source: source, reason: reason)
        case GIC_TOO_LARGE:
            // The C side refuses before filling `info`; the message carries the size.
            throw ImageError.tooLarge(
                source: source, width: Int(info.width), height: Int(info.height), limits: limits)
        case GIC_UNSUPPORTED: throw ImageError.unsupportedLayout(source: source, reason: reason)
        default: throw ImageError.corrupt(source: source, reason: reason)
        }
    }
}
