/// Bounds on what a safetensors header may declare, checked while parsing and before any
/// allocation sized by the header.
///
/// The defaults accept every real checkpoint; tests lower them to exercise the refusals with small
/// inputs (a 10-million-entry header is refused by `maxTensors` without building 10 million
/// entries). The writer checks the same limits, so Graft never writes a file it would refuse.
public struct SafetensorsLimits: Sendable, Equatable {
    /// The largest JSON header, in bytes (the safetensors reference reader's limit is 100 MB).
    public var maxHeaderBytes: Int
    /// The most tensor entries one file may list.
    public var maxTensors: Int
    /// The most dimensions one tensor may have.
    public var maxRank: Int
    /// The longest tensor name, in UTF-8 bytes.
    public var maxNameLength: Int
    /// The deepest nesting of JSON objects and arrays (a valid header needs 3). The parser recurses
    /// once per level, so values above 256 are treated as 256 to keep the stack bounded.
    public var maxNestingDepth: Int

    public init(
        maxHeaderBytes: Int = 100_000_000,
        maxTensors: Int = 1_000_000,
        maxRank: Int = 64,
        maxNameLength: Int = 4096,
        maxNestingDepth: Int = 64
    ) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxTensors = maxTensors
        self.maxRank = maxRank
        self.maxNameLength = maxNameLength
        self.maxNestingDepth = maxNestingDepth
    }

    /// The limits `parse`, `SafetensorsFile` and the writer use unless told otherwise.
    public static let `default` = SafetensorsLimits()
}
