import GraftCore

/// Numbers, text and bytes. Every length is checked against the bytes present before anything
/// is copied, so a length field of 4 GiB over 10 real bytes costs nothing.
extension PickleInterpreter {
    var truncated: PickleError { .truncated(offset: opOffset, opcode: opName) }
    var invalidString: PickleError { .invalidString(offset: opOffset, opcode: opName) }

    /// The next `length` bytes, without copying.
    mutating func slice(length: Int) throws -> UnsafeRawBufferPointer {
        guard length >= 0 else { throw malformed("\(opName) has a negative length \(length)") }
        guard length <= reader.remaining else { throw truncated }
        guard length <= limits.maxStringLength else { throw limitExceeded(.stringLength) }
        return try reader.slice(length)
    }

    mutating func payload(length: Int) throws -> [UInt8] {
        Array(try slice(length: length))
    }

    /// BINUNICODE and friends: UTF-8 text.
    mutating func unicode(length: Int) throws -> Node {
        guard let text = PickleText.utf8(try slice(length: length)) else { throw invalidString }
        return .string(text)
    }

    /// A Python 2 `str` (BINSTRING, SHORT_BINSTRING): bytes decoded as UTF-8, as `torch.load`
    /// does with its default `encoding="utf-8"`.
    mutating func byteString(length: Int) throws -> Node {
        try unicode(length: length)
    }

    /// LONG1/LONG4: little-endian two's complement.
    mutating func binaryLong(length: Int) throws -> Node {
        PickleInteger.node(littleEndian: try payload(length: length))
    }

    /// One protocol-0 text argument, up to (not including) its newline.
    mutating func line() throws -> UnsafeRawBufferPointer {
        let maxLength = limits.maxStringLength
        do {
            return try reader.line(maxLength: maxLength)
        } catch {
            if reader.remaining > maxLength { throw limitExceeded(.stringLength) }
            throw truncated
        }
    }

    /// INT: decimal text, or "01"/"00" for True/False (how protocol 0 writes bools).
    mutating func textInt() throws -> Node {
        let text = try line()
        if text.elementsEqual("01".utf8) { return .bool(true) }
        if text.elementsEqual("00".utf8) { return .bool(false) }
        return try decimal(text)
    }

    /// LONG: decimal text with an optional trailing `L`.
    mutating func textLong() throws -> Node {
        var text = try line()
        if text.last == UInt8(ascii: "L") { text = UnsafeRawBufferPointer(rebasing: text.dropLast()) }
        return try decimal(text)
    }

    /// Base-10 text. CPython reads INT with `strtol(…, 0)` ("012" is octal 10) and LONG with
    /// `int(…, 0)` (which refuses "012"), so a leading zero before other digits is refused rather
    /// than read differently.
    private func decimal(_ text: UnsafeRawBufferPointer) throws -> Node {
        let digits = PickleText.trimmed(text).drop { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") }
        if digits.first == UInt8(ascii: "0"), digits.contains(where: { $0 != UInt8(ascii: "0") }) {
            throw malformed("\(opName) argument has a leading zero, which CPython reads as octal or refuses")
        }
        do throws(PickleInteger.TextError) {
            return try PickleInteger.node(decimal: text)
        } catch .notANumber {
            throw malformed("\(opName) argument is not a decimal integer")
        } catch .tooManyDigits {
            throw malformed("\(opName) argument has more than \(PickleInteger.maxDecimalDigits) digits")
        }
    }

    mutating func textFloat() throws -> Node {
        guard let value = PickleText.float(try line()) else {
            throw malformed("FLOAT argument is not a number")
        }
        return .float(value)
    }

    /// STRING: a quoted, backslash-escaped Python 2 `str`.
    mutating func quotedString() throws -> Node {
        guard let body = PickleText.quotedBody(try line()) else {
            throw malformed("the STRING argument must be quoted")
        }
        guard let bytes = PickleText.escapeDecoded(body), let text = PickleText.utf8(bytes) else {
            throw invalidString
        }
        return .string(text)
    }

    /// UNICODE: raw-unicode-escape text.
    mutating func rawUnicodeString() throws -> Node {
        guard let text = PickleText.rawUnicodeEscaped(try line()) else { throw invalidString }
        return .string(text)
    }
}
