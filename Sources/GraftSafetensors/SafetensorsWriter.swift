import GraftCore

/// Writes safetensors stores atomically.
///
/// Bytes go to a temporary file in the destination's folder, which is fsynced and renamed over the
/// destination only when every tensor has been written. On any error, including one thrown by the
/// caller's data callback, the temporary file is removed and the destination is untouched; a
/// reader that has the old file mapped keeps seeing the old bytes.
public enum SafetensorsWriter {
    /// Streams a store: the header first, then each tensor's bytes as `data(i)` returns them.
    ///
    /// Tensors are laid out in `Safetensors.layoutOrder` (largest item size first, otherwise as
    /// given); `data` is called once per tensor, in that write order, with the tensor's index in
    /// `entries`, so only one tensor's bytes need to exist at a time. Each buffer must hold exactly
    /// the tensor's `numel × itemSize` bytes.
    public static func write(
        to path: String,
        entries: [(name: String, dtype: DType, shape: [Int])],
        metadata: [(key: String, value: String)],
        data: (Int) throws -> ByteBuffer
    ) throws {
        let order = Safetensors.layoutOrder(of: entries.map(\.dtype))
        let (header, ranges) = try Safetensors.encodeHeader(
            entries: order.map { entries[$0] }, metadata: metadata)
        let output: AtomicFileWriter
        do {
            output = try AtomicFileWriter(destination: path)
        } catch let error as FileError {
            throw SafetensorsError.file(error)
        }
        do {
            try output.write(header)
            for (slot, index) in order.enumerated() {
                let buffer = try data(index)
                guard buffer.count == ranges[slot].count else {
                    throw SafetensorsError.dataSizeMismatch(
                        tensor: excerpt(entries[index].name), expected: ranges[slot].count,
                        actual: buffer.count)
                }
                try buffer.withUnsafeBytes { try output.write($0) }
            }
            try output.commit()
        } catch {
            output.abandon()
            if let fileError = error as? FileError { throw SafetensorsError.file(fileError) }
            throw error
        }
    }

    /// Writes tensors that are already in memory (or mapped from another file).
    public static func write(
        to path: String,
        tensors: [(name: String, tensor: RawTensor)],
        metadata: [(key: String, value: String)]
    ) throws {
        try write(
            to: path,
            entries: tensors.map { (name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape) },
            metadata: metadata,
            data: { tensors[$0].tensor.data })
    }
}
