/// A tensor whose bytes are read only when asked for.
///
/// Importers describe every tensor first (dtype and shape are known from the file's metadata) and
/// defer the copy, so `graft inspect` touches no tensor data and `graft convert` streams one tensor
/// at a time instead of holding the whole checkpoint in memory.
public struct LazyTensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    private let loader: () throws -> ByteBuffer

    public init(dtype: DType, shape: [Int], load: @escaping () throws -> ByteBuffer) {
        self.dtype = dtype
        self.shape = shape
        self.loader = load
    }

    /// A lazy tensor over bytes already in memory.
    public init(_ tensor: RawTensor) {
        self.init(dtype: tensor.dtype, shape: tensor.shape, load: { tensor.data })
    }

    public var elementCount: Int { Checked.elementCount(shape) ?? 0 }
    public var byteCount: Int { elementCount * dtype.itemSize }

    /// Reads (and for strided sources materializes) the contiguous little-endian bytes.
    public func load() throws -> RawTensor {
        try RawTensor(dtype: dtype, shape: shape, data: try loader())
    }
}

/// The object graph of a checkpoint after the format-specific decoding: dictionaries with string
/// keys, tensors, and everything else reduced to a short description.
///
/// This is what state-dict normalization works on (unwrapping `{"state_dict": …}`, stripping
/// `module.`), independently of the file format it came from.
public indirect enum CheckpointValue: Sendable {
    case tensor(LazyTensor)
    case dict([(key: String, value: CheckpointValue)])
    case list([CheckpointValue])
    /// A value that is not a tensor container: an int, a float, a string, an optimizer's
    /// hyper-parameter, a numpy scalar. The text says what it was, for the normalization report.
    case other(String)

    /// Whether a tensor is reachable from here.
    public var containsTensor: Bool {
        switch self {
        case .tensor: return true
        case .dict(let items): return items.contains { $0.value.containsTensor }
        case .list(let items): return items.contains { $0.containsTensor }
        case .other: return false
        }
    }

    /// A short description: "tensor float32 [64, 3, 7, 7]", "dict (12 entries)", "int 3".
    public var summary: String {
        switch self {
        case .tensor(let t): return "tensor \(t.dtype) \(t.shape)"
        case .dict(let items): return "dict (\(items.count) entries)"
        case .list(let items): return "list (\(items.count) items)"
        case .other(let text): return text
        }
    }
}
