import GraftNN

/// Everything that did not fit when a model's parameters were looked up in a checkpoint, reported at
/// once so one run shows every missing, unused and mis-shaped key.
public struct LoadError: Error, CustomStringConvertible, Equatable {
    public typealias Problem = LoadProblem

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
