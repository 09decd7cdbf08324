import GraftCore
/// Decoders for the text arguments of protocol 0 (and helpers for messages). Each returns nil
/// where Python would raise, and the caller turns that into the right `PickleError`.
enum PickleText {
    /// Strict UTF-8: invalid sequences, overlong forms and encoded surrogates all give nil.
    static func utf8(_ bytes: UnsafeRawBufferPointer) -> String? {
        String(validating: bytes, as: UTF8.self)
    }

    static func utf8(_ bytes: [UInt8]) -> String? {
        String(validating: bytes, as: UTF8.self)
    }

    /// ASCII whitespace trimmed from both ends (Python's `int()`/`float()` accept it).
    static func trimmed(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var lo = 0
        var hi = bytes.count
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
        while lo < hi, isSpace(bytes[lo]) { lo += 1 }
        while hi > lo, isSpace(bytes[hi - 1]) { hi -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[lo..<hi])
    }

    /// Swift's `Double(_:)` would also take hex floats and "nan(…)" payloads, which Python's
    /// `float()` does not, so only these characters get that far.
    private static let floatCharacters = Set("0123456789+-.eEinfatyINFATY".utf8)

    /// Python's `float(text)` for the spellings a pickler writes: decimal, exponent, inf, nan.
    static func float(_ line: UnsafeRawBufferPointer) -> Double? {
        let text = trimmed(line)
        guard !text.isEmpty, text.allSatisfy({ floatCharacters.contains($0) }) else { return nil }
        return Double(String(decoding: text, as: UTF8.self))
    }

    /// The text between the quotes of a protocol-0 STRING argument (`'…'` or `"…"`, Python 2
    /// `repr` form), or nil when it is not quoted.
    static func quotedBody(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard line.count >= 2, let q = line.first, q == line[line.count - 1],
            q == UInt8(ascii: "'") || q == UInt8(ascii: "\"")
        else { return nil }
        return UnsafeRawBufferPointer(rebasing: line[1..<(line.count - 1)])
    }

    private static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(b - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    private static func isOctal(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "7") }

    /// Python's bytes-literal escapes: `\\ \' \" \a \b \f \n \r \t \v \xhh \ooo`, a backslash
    /// before a newline vanishes, any other backslash is kept as is.
    static func escapeDecoded(_ s: UnsafeRawBufferPointer) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            let c = s[i]
            i += 1
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                continue
            }
            guard i < s.count else { return nil }  // "Trailing \ in string"
            let e = s[i]
            i += 1
            switch e {
            case UInt8(ascii: "\n"): break
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): out.append(e)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "x"):
                guard i + 1 < s.count, let h = hexValue(s[i]), let l = hexValue(s[i + 1]) else { return nil }
                out.append(UInt8(h << 4 | l))
                i += 2
            case _ where isOctal(e):
                var v = UInt32(e - UInt8(ascii: "0"))
                var digits = 1
                while digits < 3, i < s.count, isOctal(s[i]) {
                    v = v << 3 | UInt32(s[i] - UInt8(ascii: "0"))
                    i += 1
                    digits += 1
                }
                out.append(UInt8(truncatingIfNeeded: v))  // CPython keeps the low 8 bits
            default:
                out.append(UInt8(ascii: "\\"))
                out.append(e)
            }
        }
        return out
    }

    /// Python's `raw-unicode-escape` decoding: bytes are Latin-1 code points, except that
    /// `\uXXXX` and `\UXXXXXXXX` after an odd run of backslashes are escapes. Surrogates and
    /// malformed escapes give nil (Python keeps lone surrogates; Swift strings cannot).
    static func rawUnicodeEscaped(_ s: UnsafeRawBufferPointer) -> String? {
        var utf8: [UInt8] = []
        utf8.reserveCapacity(s.count)
        func append(_ scalar: Unicode.Scalar) { UTF8.encode(scalar) { utf8.append($0) } }
        var i = 0
        while i < s.count {
            let c = s[i]
            guard c == UInt8(ascii: "\\") else {
                append(Unicode.Scalar(c))
                i += 1
                continue
            }
            var run = 0
            while i < s.count, s[i] == UInt8(ascii: "\\") {
                run += 1
                i += 1
            }
            let escapes =
                run % 2 == 1 && i < s.count && (s[i] == UInt8(ascii: "u") || s[i] == UInt8(ascii: "U"))
            for _ in 0..<(escapes ? run - 1 : run) { append("\\") }
            guard escapes else { continue }
            let width = s[i] == UInt8(ascii: "u") ? 4 : 8
            i += 1
            guard i + width <= s.count else { return nil }
            var v: UInt32 = 0
            for k in 0..<width {
                guard let h = hexValue(s[i + k]) else { return nil }
                v = v << 4 | h
            }
            i += width
            guard let scalar = Unicode.Scalar(v) else { return nil }  // surrogate or > U+10FFFF
            append(scalar)
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// `s` in double quotes with control, bidi-override and quote characters escaped, cut to
    /// `maxCharacters`, so hostile names print safely in one line.
    static func escaped(_ s: String, maxCharacters: Int = 80) -> String { SafeText.quoted(s, limit: maxCharacters) }
}
