/// Python integers of any size in pickle's encoding: little-endian two's complement (LONG1,
/// LONG4) or decimal text (INT, LONG). A value that fits `Int` always becomes `.int`; anything
/// larger is kept as its minimal two's-complement bytes, so equal values have equal bytes.
enum PickleInteger {
    /// CPython refuses to convert longer decimal strings (`sys.int_info.default_max_str_digits`);
    /// the conversion is quadratic, so this bounds the work.
    static let maxDecimalDigits = 4300

    /// The node for a little-endian two's-complement integer of any length (empty means 0).
    static func node(littleEndian bytes: [UInt8]) -> Node {
        let minimal = self.minimal(bytes)
        guard minimal.count <= 8 else { return .bigInt(minimal) }
        var bits: UInt64 = 0
        for (i, byte) in minimal.enumerated() { bits |= UInt64(byte) << UInt64(8 * i) }
        if let last = minimal.last, minimal.count < 8, last & 0x80 != 0 {
            bits |= UInt64.max << UInt64(8 * minimal.count)
        }
        return .int(Int(truncatingIfNeeded: Int64(bitPattern: bits)))
    }

    /// `bytes` without the high bytes that only repeat the sign (Python's `encode_long` form;
    /// 0 becomes the empty array).
    static func minimal(_ bytes: [UInt8]) -> [UInt8] {
        var end = bytes.count
        while end > 1 {
            let last = bytes[end - 1]
            let signOfPrevious = bytes[end - 2] & 0x80
            guard (last == 0 && signOfPrevious == 0) || (last == 0xFF && signOfPrevious != 0) else { break }
            end -= 1
        }
        if end == 1 && bytes[0] == 0 { end = 0 }
        return end == bytes.count ? bytes : Array(bytes[0..<end])
    }

    /// The minimal two's-complement bytes of `value`, as Python's `encode_long` writes them.
    static func bytes(of value: Int) -> [UInt8] {
        let bits = UInt64(bitPattern: Int64(value))
        return minimal((0..<8).map { UInt8(truncatingIfNeeded: bits >> UInt64(8 * $0)) })
    }

    /// The two's-complement bytes of an integral, finite double beyond `Int` (Python's
    /// `1e20 == 10**20`), or nil for any other double.
    static func bytes(ofIntegral d: Double) -> [UInt8]? {
        guard d.isFinite, d == d.rounded(.towardZero), d.exponent >= 63 else { return nil }
        // |d| = mantissa · 2^(exponent − 52), with the exponent at least 63.
        let mantissa = d.significandBitPattern | (1 << 52)
        let shift = d.exponent - 52
        var bytes = [UInt8](repeating: 0, count: shift / 8)
        let shifted = mantissa << UInt64(shift % 8)
        for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: shifted >> UInt64(8 * k))) }
        bytes.append(0)
        if d < 0 { negate(&bytes) }
        return minimal(bytes)
    }

    enum TextError: Error {
        case notANumber
        case tooManyDigits
    }

    /// Python's `int(text)` for base-10 text with optional sign and surrounding whitespace.
    static func node(decimal line: UnsafeRawBufferPointer) throws(TextError) -> Node {
        var text = PickleText.trimmed(line)
        var negative = false
        if let first = text.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            text = UnsafeRawBufferPointer(rebasing: text[1...])
        }
        guard !text.isEmpty, text.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .notANumber
        }
        guard text.count <= maxDecimalDigits else { throw .tooManyDigits }
        if text.count <= 18 {  // fits Int64 with room for the sign
            var v = 0
            for d in text { v = v * 10 + Int(d - UInt8(ascii: "0")) }
            return .int(negative ? -v : v)
        }
        return node(littleEndian: twosComplement(decimalDigits: text, negative: negative))
    }

    /// Base-10 digits to two's complement, nine digits at a time into 32-bit limbs.
    private static func twosComplement(decimalDigits text: UnsafeRawBufferPointer, negative: Bool) -> [UInt8]
    {
        var limbs: [UInt32] = []
        var i = 0
        while i < text.count {
            let n = min(9, text.count - i)
            var chunk: UInt64 = 0
            var scale: UInt64 = 1
            for k in 0..<n {
                chunk = chunk * 10 + UInt64(text[i + k] - UInt8(ascii: "0"))
                scale *= 10
            }
            i += n
            var carry = chunk
            for j in limbs.indices {
                let t = UInt64(limbs[j]) * scale + carry
                limbs[j] = UInt32(truncatingIfNeeded: t)
                carry = t >> 32
            }
            if carry != 0 { limbs.append(UInt32(truncatingIfNeeded: carry)) }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(limbs.count * 4 + 1)
        for limb in limbs {
            for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: limb >> UInt32(8 * k))) }
        }
        bytes.append(0)  // room for the sign bit of a positive magnitude
        if negative { negate(&bytes) }
        return bytes
    }

    /// Two's-complement negation in place (invert, add one).
    private static func negate(_ bytes: inout [UInt8]) {
        var carry = true
        for j in bytes.indices {
            let (sum, overflow) = (~bytes[j]).addingReportingOverflow(carry ? 1 : 0)
            bytes[j] = sum
            carry = overflow
        }
    }
}
