/// The kind of JSON value that starts at the reader's position.
enum JSONKind: Equatable {
    case object, array, string, number, bool, null

    /// "an object", "a string", … for messages such as "is an array, not an object".
    var phrase: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }
}

/// A JSON number, classified without losing anything a header check needs.
enum JSONNumber: Equatable {
    /// An integer that fits `Int`.
    case integer(Int)
    /// An integer outside `Int`'s range; `text` is its (possibly cut) spelling.
    case bigInteger(negative: Bool, text: String)
    /// A number with a fraction or an exponent (`2.0`, `1e3`); never a valid size or offset.
    case fraction(text: String)
}

/// A strict JSON cursor over the header bytes (RFC 8259).
///
/// Graft parses the header itself because Foundation's `JSONSerialization` silently keeps one of
/// two duplicate keys, and a loader that picks a different duplicate than PyTorch's loads a
/// different model. Objects and arrays are read through callbacks that consume each member, so a
/// header is checked in a stream without building a tree: memory stays proportional to what the
/// caller keeps. Objects reject duplicate keys (unless an earlier pass has checked them), nesting
/// is bounded by `maxDepth`, and every error names its file offset. The bytes must already be
/// valid UTF-8 (`UTF8Validation`).
struct JSONReader {
    let bytes: UnsafeRawBufferPointer
    /// The file offset of `bytes[0]`, so errors point into the file, not into the header.
    let fileOffset: Int
    let maxDepth: Int
    /// The index in `bytes` of the next unread byte (advanced only by the reading methods).
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer, fileOffset: Int, maxDepth: Int) {
        self.bytes = bytes
        self.fileOffset = fileOffset
        self.maxDepth = min(max(maxDepth, 0), 256)
    }

    var isAtEnd: Bool { position >= bytes.count }

    /// The file offset of the current position.
    var currentFileOffset: Int { fileOffset + position }

    func syntaxError(_ reason: String, at index: Int? = nil) -> SafetensorsError {
        .invalidJSON(offset: fileOffset + (index ?? position), reason: reason)
    }

    /// The byte at the current position, described for a message: 'x', or byte 0xNN, or the end.
    var currentByteDescription: String {
        guard position < bytes.count else { return "the end of the header" }
        let b = bytes[position]
        if b >= 0x20 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x" + hex(UInt16(b), digits: 2)
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// Skips whitespace and tells which kind of value starts next.
    mutating func peekKind() throws -> JSONKind {
        skipWhitespace()
        guard position < bytes.count else {
            throw syntaxError("a value was expected before the end of the header")
        }
        switch bytes[position] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: throw syntaxError("\(currentByteDescription) cannot start a value")
        }
    }

    /// Consumes `byte` after optional whitespace, or fails saying what was expected.
    private mutating func expect(_ byte: UInt8, _ what: String) throws {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else {
            throw syntaxError("expected \(what), found \(currentByteDescription)")
        }
        position += 1
    }

    /// Consumes `byte` after optional whitespace if it is next.
    private mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    // MARK: - Containers

    /// Reads an object whose nesting level is `depth` (the header object is 1). For each member,
    /// `member` is called with the reader positioned at the value and the key, and must consume
    /// the value. `context` (the enclosing key) only names the object in a duplicate-key error.
    /// `memberLimit` stops a huge object with its error as soon as it has one member too many,
    /// before the remaining members are read. `keysKnownUnique` skips the duplicate check for an
    /// object an earlier pass has already checked (hashing every name twice is most of the cost
    /// of a header with many tensors).
    mutating func readObject(
        depth: Int, context: String?, memberLimit: (count: Int, error: SafetensorsError)? = nil,
        keysKnownUnique: Bool = false,
        member: (inout JSONReader, _ key: String) throws -> Void
    ) throws {
        try enter(depth)
        try expect(UInt8(ascii: "{"), "'{'")
        if consume(UInt8(ascii: "}")) { return }
        var keys = DuplicateKeyCheck()
        var count = 0
        repeat {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw syntaxError("expected a quoted key, found \(currentByteDescription)")
            }
            let key = try readString()
            if !keysKnownUnique && !keys.insert(key) {
                throw SafetensorsError.duplicateKey(key: excerpt(key), context: context.map { excerpt($0) })
            }
            count += 1
            if let memberLimit, count > memberLimit.count { throw memberLimit.error }
            try expect(UInt8(ascii: ":"), "':' after a key")
            try member(&self, key)
        } while consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"), "',' or '}'")
    }

    /// Reads an array at nesting level `depth`; `element` must consume each element.
    mutating func readArray(depth: Int, element: (inout JSONReader, _ index: Int) throws -> Void) throws {
        try enter(depth)
        try expect(UInt8(ascii: "["), "'['")
        if consume(UInt8(ascii: "]")) { return }
        var index = 0
        repeat {
            try element(&self, index)
            index += 1
        } while consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"), "',' or ']'")
    }

    private func enter(_ depth: Int) throws {
        guard depth <= maxDepth else {
            throw SafetensorsError.nestingTooDeep(offset: currentFileOffset, limit: maxDepth)
        }
    }

    /// Reads and checks any value at nesting level `depth` without keeping it.
    mutating func skipValue(depth: Int, context: String?) throws {
        switch try peekKind() {
        case .object:
            try readObject(depth: depth, context: context) { reader, key in
                try reader.skipValue(depth: depth + 1, context: key)
            }
        case .array:
            try readArray(depth: depth) { reader, _ in
                try reader.skipValue(depth: depth + 1, context: context)
            }
        case .string: _ = try readString()
        case .number: _ = try readNumber()
        case .bool: _ = try readBool()
        case .null: try readNull()
        }
    }

    // MARK: - Scalars

    mutating func readBool() throws -> Bool {
        skipWhitespace()
        if try readLiteral("true") { return true }
        if try readLiteral("false") { return false }
        throw syntaxError("expected true or false")
    }

    mutating func readNull() throws {
        skipWhitespace()
        guard try readLiteral("null") else { throw syntaxError("expected null") }
    }

    /// Consumes `word` if it is next and is not glued to more letters (`nullx`, `truee`).
    private mutating func readLiteral(_ word: StaticString) throws -> Bool {
        let length = word.utf8CodeUnitCount
        guard bytes.count - position >= length else { return false }
        for k in 0..<length where bytes[position + k] != word.utf8Start[k] { return false }
        position += length
        if position < bytes.count, Self.isLetterOrDigit(bytes[position]) {
            throw syntaxError("unexpected \(currentByteDescription) after \(word)")
        }
        return true
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private static func isLetterOrDigit(_ b: UInt8) -> Bool {
        isDigit(b) || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "z"))
    }
}

/// The keys seen so far in one object. Small objects (tensor entries) compare linearly; a set
/// takes over once an object has more than 16 keys.
///
/// Swift compares strings by canonical equivalence, so "é" and "e\u{301}" count as the same key:
/// stricter than a byte comparison, and no two names in one file can look alike.
private struct DuplicateKeyCheck {
    private var few: [String] = []
    private var many: Set<String> = []

    /// Adds `key`; false if it was already there.
    mutating func insert(_ key: String) -> Bool {
        if many.isEmpty {
            if few.contains(key) { return false }
            few.append(key)
            if few.count > 16 {
                many = Set(few)
                few = []
            }
            return true
        }
        return many.insert(key).inserted
    }
}
