import GraftCore

/// One tensor listed in a safetensors header.
public struct SafetensorsEntry: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    /// Byte range relative to the start of the data section (`SafetensorsHeader.dataStart`).
    public var dataRange: Range<Int>

    public init(name: String, dtype: DType, shape: [Int], dataRange: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataRange = dataRange
    }

    /// The number of elements (`dataRange.count / itemSize`; 1 for a 0-rank scalar).
    public var elementCount: Int { dataRange.count / dtype.itemSize }
}

/// A validated safetensors header: the tensors, the `__metadata__` strings and where data begins.
///
/// `Safetensors.parse` only returns a header whose entries cover the data section exactly: sorted
/// by offset they start at 0, touch without gap or overlap, and end where the file ends.
public struct SafetensorsHeader: Sendable {
    /// The tensors in file (data offset) order.
    public let entries: [SafetensorsEntry]
    /// The `__metadata__` entries in the order the file lists them.
    public let metadata: [(key: String, value: String)]
    /// The file offset where the data section begins: 8 + the header length.
    public let dataStart: Int
    private let indexByName: [String: Int]

    init(entries: [SafetensorsEntry], metadata: [(key: String, value: String)], dataStart: Int) {
        self.entries = entries
        self.metadata = metadata
        self.dataStart = dataStart
        var index: [String: Int] = [:]
        index.reserveCapacity(entries.count)
        // Names are unique (duplicate keys are refused), so keeping the first is only a formality.
        for (i, entry) in entries.enumerated() where index[entry.name] == nil { index[entry.name] = i }
        self.indexByName = index
    }

    /// The entry named `name`, or nil.
    public func entry(named name: String) -> SafetensorsEntry? {
        indexByName[name].map { entries[$0] }
    }

    /// The size of the data section in bytes (where the last tensor ends).
    public var dataByteCount: Int { entries.last?.dataRange.upperBound ?? 0 }
}
