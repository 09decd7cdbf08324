/// The rule every entry name must pass, for the reader and the writer alike.
///
/// Graft never extracts archives, but names are keys that reach file-system-like code and
/// terminals, so only plain relative paths are accepted (Go's `ErrInsecurePath`, zip-slip):
/// valid UTF-8, no NUL, no backslash, not absolute, no drive letter, no empty, `.` or `..`
/// component. A single trailing `/` marks a directory entry.
enum ZipEntryName {
    /// The name as a `String`, or `invalidEntryName` saying why not.
    static func validate(_ raw: [UInt8], maxLength: Int) throws -> String {
        guard let name = String(validating: raw, as: UTF8.self) else {
            throw ZipError.invalidEntryName(name: escapedBytes(raw), reason: "not valid UTF-8")
        }
        try validate(name, byteCount: raw.count, maxLength: maxLength)
        return name
    }

    /// Checks a name given as a `String` (the writer's input).
    static func validate(_ name: String, maxLength: Int) throws {
        try validate(name, byteCount: name.utf8.count, maxLength: maxLength)
    }

    private static func validate(_ name: String, byteCount: Int, maxLength: Int) throws {
        func reject(_ reason: String) -> ZipError {
            // A 64 KiB name would swamp the message: show its start only.
            let shown = byteCount > 256 ? String(name.prefix(64)) + "…" : name
            return ZipError.invalidEntryName(name: shown, reason: reason)
        }
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw reject("empty name") }
        guard byteCount <= maxLength else {
            throw reject("\(byteCount) bytes long, more than the limit of \(maxLength)")
        }
        if bytes.contains(0) { throw reject("contains a NUL byte") }
        if bytes.contains(UInt8(ascii: "\\")) { throw reject("contains a backslash") }
        if bytes[0] == UInt8(ascii: "/") { throw reject("absolute path") }
        if bytes.count >= 2, bytes[1] == UInt8(ascii: ":"), isASCIILetter(bytes[0]) {
            throw reject("starts with a drive letter")
        }
        var components = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        if components.count > 1, components.last?.isEmpty == true {
            components.removeLast()  // "dir/" is a directory entry
        }
        for component in components {
            if component.isEmpty { throw reject("empty path component") }
            if component.elementsEqual([UInt8(ascii: ".")]) { throw reject("'.' path component") }
            if component.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                throw reject("'..' path component")
            }
        }
    }

    private static func isASCIILetter(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
    }

    /// Printable ASCII as is, every other byte as `\xNN` (for names that are not UTF-8).
    static func escapedBytes(_ raw: [UInt8]) -> String {
        var out = ""
        for b in raw.prefix(256) {
            if b >= 0x20 && b < 0x7F && b != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += "\\x" + (b < 0x10 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
        }
        return raw.count > 256 ? out + "…" : out
    }
}
