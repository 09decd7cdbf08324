/// Resource limits of one `PickleMachine.decode` call.
///
/// A pickle is a program, so a few hundred hostile bytes can ask for unbounded work: a billion
/// laughs through the memo, a million nested MARKs, a string length of four gigabytes. Every one
/// of those is cut off here, before the work or the allocation happens. The defaults are far
/// above what real checkpoints use (a ResNet-152 state dict plus its Adam state is under 100 000
/// nodes, nesting under 10 levels) and far below what would hurt the process.
public struct PickleLimits: Sendable, Equatable {
    /// Opcodes executed.
    public var maxOperations: Int
    /// Nesting of containers in the result, and of open MARKs while parsing.
    public var maxDepth: Int
    /// Distinct memo slots in use.
    public var maxMemoEntries: Int
    /// Nodes in the produced value tree, counting a memo-shared value once per occurrence; also
    /// the most values on the stack and containers made while parsing.
    public var maxNodes: Int
    /// Elements of one tuple, list, set or dict (entries), and arguments of one call.
    public var maxContainerLength: Int
    /// Bytes of one str or bytes value (also of one protocol-0 text line).
    public var maxStringLength: Int

    public init(
        maxOperations: Int = 50_000_000,
        maxDepth: Int = 100,
        maxMemoEntries: Int = 1_000_000,
        maxNodes: Int = 1_000_000,
        maxContainerLength: Int = 10_000_000,
        maxStringLength: Int = 1 << 30
    ) {
        self.maxOperations = maxOperations
        self.maxDepth = maxDepth
        self.maxMemoEntries = maxMemoEntries
        self.maxNodes = maxNodes
        self.maxContainerLength = maxContainerLength
        self.maxStringLength = maxStringLength
    }

    /// The limits every importer uses unless a test lowers them.
    public static let `default` = PickleLimits()
}

/// Names one field of `PickleLimits`, for `PickleError.limitExceeded`.
public enum PickleLimit: String, Sendable, Equatable, CustomStringConvertible {
    case operations = "maxOperations"
    case depth = "maxDepth"
    case memoEntries = "maxMemoEntries"
    case nodes = "maxNodes"
    case containerLength = "maxContainerLength"
    case stringLength = "maxStringLength"

    public var description: String { rawValue }

    /// What the limit counts, for error messages.
    var noun: String {
        switch self {
        case .operations: return "opcodes"
        case .depth: return "levels of nesting"
        case .memoEntries: return "memo entries"
        case .nodes: return "value nodes"
        case .containerLength: return "elements in one container"
        case .stringLength: return "bytes in one string"
        }
    }
}

extension PickleLimits {
    /// The configured maximum for `limit`.
    public func maximum(_ limit: PickleLimit) -> Int {
        switch limit {
        case .operations: return maxOperations
        case .depth: return maxDepth
        case .memoEntries: return maxMemoEntries
        case .nodes: return maxNodes
        case .containerLength: return maxContainerLength
        case .stringLength: return maxStringLength
        }
    }
}
