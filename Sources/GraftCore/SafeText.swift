/// Text from a hostile file, made safe to print in a one-line message.
///
/// A tensor name, an archive member or an HDF5 path can carry terminal escape sequences, newlines or
/// bidirectional overrides meant to rewrite what a user sees. Every error message that quotes such a
/// name goes through here.
public enum SafeText {
    /// `text` between `quote`s with control characters, bidi overrides, the quote (and, unless told
    /// otherwise, backslashes) escaped, cut to `limit` characters with an ellipsis.
    public static func quoted(_ text: String, quote: Character = "\"", limit: Int = 200, escapeBackslash: Bool = true) -> String {
        var out = String(quote)
        for (count, scalar) in text.unicodeScalars.enumerated() {
            if count == limit {
                out += "…"
                break
            }
            if Character(scalar) == quote {
                out += "\\" + String(quote)
            } else if scalar == "\\" {
                out += escapeBackslash ? "\\\\" : "\\"
            } else {
                append(scalar, to: &out)
            }
        }
        return out + String(quote)
    }

    /// A whole line with control characters (but tab) and bidi overrides escaped; nothing quoted or cut.
    public static func line(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars { scalar == "\t" ? out.unicodeScalars.append(scalar) : append(scalar, to: &out) }
        return out
    }

    private static func append(_ scalar: Unicode.Scalar, to out: inout String) {
        let v = scalar.value
        switch scalar {
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            let control = v < 0x20 || (0x7F...0x9F).contains(v)
            let bidi = (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
            if control || bidi { out += "\\u{\(String(v, radix: 16))}" } else { out.unicodeScalars.append(scalar) }
        }
    }
}

/// An error whose description already starts with the file it is about, so a command prints it as it
/// is instead of putting the input's name in front.
public protocol NamesItsFile: Error {}
