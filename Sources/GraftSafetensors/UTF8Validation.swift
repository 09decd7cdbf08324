/// Strict UTF-8 validation (RFC 3629): no overlong forms, no encoded surrogates, nothing above
/// U+10FFFF, no truncated sequences.
///
/// The header is validated once up front, so the JSON reader can decode string bytes without
/// re-checking them and an error can name the first bad byte.
enum UTF8Validation {
    /// The index of the first byte that does not start a valid UTF-8 sequence, or nil if all are valid.
    static func firstInvalidIndex(in bytes: UnsafeRawBufferPointer) -> Int? {
        let count = bytes.count
        var i = 0
        while i < count {
            let lead = bytes[i]
            if lead < 0x80 {
                i += 1
                continue
            }
            // The range the second byte must fall in depends on the lead byte: it is what rules
            // out overlong forms (E0, F0), surrogates (ED) and code points past U+10FFFF (F4).
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return i
            }
            guard count - i >= length else { return i }
            let second = bytes[i + 1]
            guard second >= low, second <= high else { return i }
            var k = 2
            while k < length {
                guard bytes[i + k] & 0xC0 == 0x80 else { return i }
                k += 1
            }
            i += length
        }
        return nil
    }
}
