/// Everything that did not fit when a model's parameters were looked up in a checkpoint, reported at
/// once so one run shows every missing, unused and mis-shaped key.
public struct LoadError: Error, CustomStringConvertible, Equatable {
    public enum Problem: Equatable, Sendable, CustomStringConvertible {
        case missing(key: String, shape: [Int])
        case unused(key: String, shape: [Int])
        case shapeMismatch(key: String, expected: [Int], found: [Int])
        case unreadable(key: String, reason: String)

        public var description: String {
            switch self {
            case .missing(let k, let s): return "missing key '\(k)' (the model needs shape \(s))"
            case .unused(let k, let s): return "unused key '\(k)' \(s) (the model has no such parameter)"
            case .shapeMismatch(let k, let e, let f): return "key '\(k)' has shape \(f), the model needs \(e)"
            case .unreadable(let k, let r): return "key '\(k)' could not be read: \(r)"
            }
        }
    }

    public let arch: String
    public let problems: [Problem]

    public var description: String {
        let shown = problems.prefix(8).map(\.description).joined(separator: "; ")
        let more = problems.count > 8 ? "; … and \(problems.count - 8) more" : ""
        let hint = problems.contains { if case .missing = $0 { return true } else { return false } }
            ? " (use --allow-missing PATTERN to initialize missing keys, --ignore PATTERN for unused ones)" : ""
        return "checkpoint does not match \(arch): \(shown)\(more)\(hint)"
    }
}
