/// Strings and numbers for `JSONReader`: every escape of RFC 8259, surrogate pairs checked, and
/// integers accumulated with overflow checks.
extension JSONReader {
    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")

    /// Reads a string value or key, decoding its escapes. Raw control characters, unknown escapes,
    /// malformed `\u` digits and unpaired surrogates are errors.
    mutating func readString() throws -> String {
        skipWhitespace()
        let open = position
        guard position < bytes.count, bytes[position] == Self.quote else {
            throw syntaxError("expected a string, found \(currentByteDescription)")
        }
        position += 1
        // Runs of plain bytes are copied whole; most strings have no escapes and decode in one go.
        var segmentStart = position
        var decoded: [UInt8] = []
        var hasEscapes = false
        while position < bytes.count {
            let byte = bytes[position]
            if byte == Self.quote {
                let tail = UnsafeRawBufferPointer(rebasing: bytes[segmentStart..<position])
                position += 1
                guard hasEscapes else { return String(decoding: tail, as: UTF8.self) }
                decoded.append(contentsOf: tail)
                return String(decoding: decoded, as: UTF8.self)
            }
            if byte == Self.backslash {
                hasEscapes = true
                decoded.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[segmentStart..<position]))
                try readEscape(into: &decoded)
                segmentStart = position
            } else if byte < 0x20 {
                let code = hex(UInt16(byte), digits: 2)
                throw syntaxError("control character 0x\(code) must be escaped in a string")
            } else {
                position += 1
            }
        }
        throw syntaxError("string is not terminated", at: open)
    }

    /// Decodes the escape at the position (a backslash) and appends its UTF-8 bytes.
    private mutating func readEscape(into out: inout [UInt8]) throws {
        let start = position
        position += 1
        guard position < bytes.count else { throw syntaxError("escape is not terminated", at: start) }
        let letter = bytes[position]
        position += 1
        switch letter {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            let scalar = try readUnicodeEscape(start: start)
            UTF8.encode(scalar) { out.append($0) }
        default:
            throw syntaxError("\\\(escapeLetterDescription(letter)) is not a JSON escape", at: start)
        }
    }

    private func escapeLetterDescription(_ letter: UInt8) -> String {
        letter >= 0x20 && letter < 0x7F
            ? String(Character(Unicode.Scalar(letter))) : "<0x\(hex(UInt16(letter), digits: 2))>"
    }

    /// The scalar of `\uXXXX` (the `\u` consumed), combining a UTF-16 surrogate pair when the
    /// first unit is a high surrogate. A lone surrogate has no Unicode scalar and is refused.
    private mutating func readUnicodeEscape(start: Int) throws -> Unicode.Scalar {
        let unit = try readHex4(escapeStart: start)
        var value = UInt32(unit)
        if (0xD800...0xDBFF).contains(unit) {
            guard bytes.count - position >= 2, bytes[position] == Self.backslash,
                  bytes[position + 1] == UInt8(ascii: "u")
            else {
                throw syntaxError(
                    "lone high surrogate \\u\(hex(unit, digits: 4)) has no low surrogate after it", at: start)
            }
            position += 2
            let low = try readHex4(escapeStart: start)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw syntaxError(
                    "high surrogate \\u\(hex(unit, digits: 4)) is followed by \\u\(hex(low, digits: 4)), "
                        + "not by a low surrogate", at: start)
            }
            value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(unit) {
            throw syntaxError("lone low surrogate \\u\(hex(unit, digits: 4))", at: start)
        }
        // Surrogates are handled above, so every remaining value is a scalar.
        guard let scalar = Unicode.Scalar(value) else {
            throw syntaxError("\\u escape does not encode a Unicode scalar", at: start)
        }
        return scalar
    }

    private mutating func readHex4(escapeStart: Int) throws -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard position < bytes.count else {
                throw syntaxError("\\u escape needs four hex digits", at: escapeStart)
            }
            let b = bytes[position]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw syntaxError("\\u escape needs four hex digits", at: escapeStart)
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    /// Reads a number with the exact RFC 8259 grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    mutating func readNumber() throws -> JSONNumber {
        skipWhitespace()
        let start = position
        var negative = false
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        guard position < bytes.count, Self.isDigit(bytes[position]) else {
            throw syntaxError("expected a digit, found \(currentByteDescription)")
        }
        var value = 0
        var fits = true
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, Self.isDigit(bytes[position]) {
                throw syntaxError("numbers must not have leading zeros", at: start)
            }
        } else {
            while position < bytes.count, Self.isDigit(bytes[position]) {
                let digit = Int(bytes[position] - UInt8(ascii: "0"))
                if fits {
                    // Accumulate toward the sign so that Int.min itself parses.
                    let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
                    let (next, o2) = negative
                        ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
                    if o1 || o2 { fits = false } else { value = next }
                }
                position += 1
            }
        }
        var isInteger = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            try skipDigits(or: "a digit must follow the decimal point")
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            position += 1
            if position < bytes.count,
               bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")
            {
                position += 1
            }
            try skipDigits(or: "an exponent needs digits")
        }
        if isInteger && fits { return .integer(value) }
        // Keep only the beginning of the spelling: a hostile number may be megabytes of digits.
        let shown = UnsafeRawBufferPointer(rebasing: bytes[start..<min(position, start + 40)])
        let text = String(decoding: shown, as: UTF8.self) + (position - start > 40 ? "…" : "")
        return isInteger ? .bigInteger(negative: negative, text: text) : .fraction(text: text)
    }

    private mutating func skipDigits(or reason: String) throws {
        guard position < bytes.count, Self.isDigit(bytes[position]) else { throw syntaxError(reason) }
        while position < bytes.count, Self.isDigit(bytes[position]) { position += 1 }
    }
}

/// Upper-case hex, zero-padded to `digits`.
func hex(_ value: UInt16, digits: Int) -> String {
    let text = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}
