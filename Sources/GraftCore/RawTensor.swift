/// A tensor as it sits in a weight file: dtype, shape and contiguous little-endian C-order bytes.
///
/// This is the currency between the importers, the weight store and the exporters. Strides, storage
/// offsets and byte order are resolved by the importer before a `RawTensor` exists.
public struct RawTensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let data: ByteBuffer

    /// Fails if the shape is invalid or `data` is not exactly `numel × itemSize` bytes.
    public init(dtype: DType, shape: [Int], data: ByteBuffer) throws {
        guard let n = Checked.byteCount(shape, itemSize: dtype.itemSize) else {
            throw RawTensorError.invalidShape(shape)
        }
        guard n == data.count else {
            throw RawTensorError.byteCountMismatch(expected: n, actual: data.count)
        }
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    public var elementCount: Int { data.count / dtype.itemSize }
    public var byteCount: Int { data.count }

    /// The values converted to `Float` (lossless for f16/bf16; f64 and the integers round).
    public func floatValues() -> [Float] {
        [Float](unsafeUninitializedCapacity: elementCount) { out, n in
            ElementConversion.toFloat32(dtype, from: data.bytes, into: out.baseAddress!, count: elementCount)
            n = elementCount
        }
    }

    /// This tensor converted to float32 (itself if it already is).
    public func convertedToFloat32() -> RawTensor {
        if dtype == .float32 { return self }
        let out = ByteBuffer(uninitializedCount: elementCount * 4)
        ElementConversion.toFloat32(
            dtype, from: data.bytes, into: out.mutableBase.assumingMemoryBound(to: Float.self), count: elementCount)
        // The byte count matches the shape by construction.
        return try! RawTensor(dtype: .float32, shape: shape, data: out)
    }
}

public enum RawTensorError: Error, CustomStringConvertible, Equatable {
    case invalidShape([Int])
    case byteCountMismatch(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .invalidShape(let s): return "invalid shape \(s) (negative dimension or element count overflow)"
        case .byteCountMismatch(let e, let a): return "tensor data is \(a) bytes, its dtype and shape need \(e)"
        }
    }
}
