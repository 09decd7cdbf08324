/// A shell-style name pattern for `--allow-missing` / `--ignore`: `*` matches any run of characters
/// (dots included), `?` one character; everything else literally. `fc.*` matches `fc.weight`.
public struct Glob: Sendable, Equatable, CustomStringConvertible {
    public let pattern: String

    public init(_ pattern: String) { self.pattern = pattern }

    public var description: String { pattern }

    public func matches(_ name: String) -> Bool {
        let p = Array(pattern.unicodeScalars), s = Array(name.unicodeScalars)
        // Iterative wildcard matching with one backtrack point: linear in practice, no recursion.
        var i = 0, j = 0, star = -1, mark = 0
        while j < s.count {
            if i < p.count && (p[i] == "?" || p[i] == s[j]) {
                i += 1; j += 1
            } else if i < p.count && p[i] == "*" {
                star = i; mark = j; i += 1
            } else if star >= 0 {
                i = star + 1; mark += 1; j = mark
            } else {
                return false
            }
        }
        while i < p.count && p[i] == "*" { i += 1 }
        return i == p.count
    }
}
