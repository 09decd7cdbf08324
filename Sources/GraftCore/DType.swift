/// Element types Graft reads and writes.
///
/// The same ten types appear in every format Graft touches: torch storage classes
/// (`FloatStorage`, …), safetensors dtype strings (`F32`, …) and HDF5 datasets. Conversions between
/// those spellings live here so each parser maps names through one table.
public enum DType: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case float32, float16, bfloat16, float64
    case int64, int32, int16, int8, uint8
    case bool

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: return true
        default: return false
        }
    }

    public var description: String { rawValue }

    private static let table: [(DType, safetensors: String, torchStorage: String, torchDType: String)] = [
        (.float32, "F32", "FloatStorage", "float32"),
        (.float16, "F16", "HalfStorage", "float16"),
        (.bfloat16, "BF16", "BFloat16Storage", "bfloat16"),
        (.float64, "F64", "DoubleStorage", "float64"),
        (.int64, "I64", "LongStorage", "int64"),
        (.int32, "I32", "IntStorage", "int32"),
        (.int16, "I16", "ShortStorage", "int16"),
        (.int8, "I8", "CharStorage", "int8"),
        (.uint8, "U8", "ByteStorage", "uint8"),
        (.bool, "BOOL", "BoolStorage", "bool"),
    ]

    /// The safetensors header spelling (`F32`, `BF16`, `BOOL`, …).
    public var safetensorsName: String { Self.table.first { $0.0 == self }!.safetensors }

    public init?(safetensorsName: String) {
        guard let row = Self.table.first(where: { $0.safetensors == safetensorsName }) else { return nil }
        self = row.0
    }

    /// The legacy typed-storage class torch pickles for this dtype (`torch.FloatStorage`, …).
    public var torchStorageName: String { Self.table.first { $0.0 == self }!.torchStorage }

    public init?(torchStorageName: String) {
        guard let row = Self.table.first(where: { $0.torchStorage == torchStorageName }) else { return nil }
        self = row.0
    }

    /// The `torch.<name>` dtype object (`torch.float32`, …) that `_rebuild_tensor_v3` receives.
    public var torchDTypeName: String { Self.table.first { $0.0 == self }!.torchDType }

    public init?(torchDTypeName: String) {
        guard let row = Self.table.first(where: { $0.torchDType == torchDTypeName }) else { return nil }
        self = row.0
    }
}
