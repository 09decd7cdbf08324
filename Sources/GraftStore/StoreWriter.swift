import Foundation
import GraftCore
import GraftSafetensors
import GraftTorch

/// What to do with tensor dtypes when writing a store.
public enum DTypePolicy: String, Sendable, CaseIterable {
    /// Keep every tensor's dtype.
    case keep
    /// Widen float16/bfloat16/float64 to float32; integer and bool tensors (num_batches_tracked) keep theirs.
    case float32

    func target(for dtype: DType) -> DType {
        self == .float32 && dtype.isFloatingPoint ? .float32 : dtype
    }
}

public struct WriteSummary: Sendable {
    public let tensors: Int
    public let bytes: Int
    public let converted: Int
}

extension WeightStore {
    /// Writes the store as safetensors at `path`, streaming one tensor at a time.
    ///
    /// The source's sha256 goes into the header, but it is computed on the other core while the
    /// tensors are copied: the header is written first with a placeholder hash (and, for a file
    /// named like a torchvision download, room for the note a mismatch adds), then written again
    /// over the same bytes, padded to the same length, before the file is committed (fsync +
    /// rename; nothing left on error).
    @discardableResult
    public func writeSafetensors(to path: String, dtype policy: DTypePolicy = .keep) throws -> WriteSummary {
        try refuseOverwritingSource(path)
        // The safetensors writer's order (widest elements first, so a mapped file needs no copies).
        let ordered = Safetensors.layoutOrder(of: entries.map { policy.target(for: $0.tensor.dtype) }).map { entries[$0] }
        let names = entries.map(\.name)
        let order = ordered.map(\.name) == names ? nil : names
        let layout = ordered.map { (name: $0.name, dtype: policy.target(for: $0.tensor.dtype), shape: $0.tensor.shape) }
        func header(_ meta: StoreMetadata, minimumJSONBytes: Int = 0) throws -> [UInt8] {
            var meta = meta
            meta.order = order
            return try Safetensors.encodeHeader(entries: layout, metadata: meta.encoded(),
                                                minimumJSONBytes: minimumJSONBytes).header
        }
        var provisional = metadata
        if sourceHash != nil {
            let placeholder = String(repeating: "0", count: 64)
            provisional.sourceSHA256 = placeholder
            if let expected = namedHashPrefix {
                provisional.notes.append("warning: " + Self.namedHashMismatch(expected: expected, actual: placeholder))
            }
        }
        let reserved = try header(provisional)

        let writer = try AtomicFileWriter(destination: path)
        try reserved.withUnsafeBytes { try writer.write($0) }
        var converted = 0
        for entry in ordered {
            let raw = try entry.tensor.load()
            let target = policy.target(for: raw.dtype)
            // withUnsafeBytes keeps each buffer alive for the whole write.
            if target == raw.dtype {
                try raw.data.withUnsafeBytes { try writer.write($0) }
                raw.data.releaseResidentPages()
            } else {
                try raw.convertedToFloat32().data.withUnsafeBytes { try writer.write($0) }
                converted += 1
            }
        }
        if let hash = try sourceSHA256() {
            metadata.sourceSHA256 = hash
            try checkNamedHash()
            // The same fields with real values: never longer than the reserved header (a hash is
            // always 64 hex digits, the note is present or not), padded with spaces to its length.
            let final = try header(metadata, minimumJSONBytes: reserved.count - 8)
            guard final.count == reserved.count else {
                throw StoreError.unsupportedFormat("could not record the source sha256")
            }
            try final.withUnsafeBytes { try writer.write($0, at: 0) }
        }
        try writer.commit()
        return WriteSummary(tensors: ordered.count, bytes: writer.bytesWritten, converted: converted)
    }

    /// Writes the store as a torch zip checkpoint (`torch.load(..., weights_only=True)` reads it).
    public func exportTorch(to path: String) throws {
        try refuseOverwritingSource(path)
        try TorchExporter.write(to: path, tensors: entries.map { (name: $0.name, tensor: $0.tensor) })
    }

    private func refuseOverwritingSource(_ path: String) throws {
        guard !sourcePath.isEmpty else { return }
        var a = stat(), b = stat()
        if stat(sourcePath, &a) == 0, stat(path, &b) == 0, a.st_dev == b.st_dev, a.st_ino == b.st_ino {
            throw StoreError.sameFile(path)
        }
    }
}
