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
    /// tensors are copied: the header is first written with a placeholder of the same length and
    /// patched in place before the file is committed (fsync + rename; nothing left on error).
    @discardableResult
    public func writeSafetensors(to path: String, dtype policy: DTypePolicy = .keep) throws -> WriteSummary {
        try refuseOverwritingSource(path)
        // The safetensors writer's order (widest elements first, so a mapped file needs no copies).
        let ordered = Safetensors.layoutOrder(of: entries.map { policy.target(for: $0.tensor.dtype) }).map { entries[$0] }
        let placeholder = String(repeating: "0", count: 64)
        var meta = metadata
        if sourceHash != nil { meta.sourceSHA256 = placeholder }
        let names = entries.map(\.name)
        meta.order = ordered.map(\.name) == names ? nil : names
        let (header, _) = try Safetensors.encodeHeader(
            entries: ordered.map { (name: $0.name, dtype: policy.target(for: $0.tensor.dtype), shape: $0.tensor.shape) },
            metadata: meta.encoded())

        let writer = try AtomicFileWriter(destination: path)
        try header.withUnsafeBytes { try writer.write($0) }
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
            // The header has no spaces and every quote inside a value is escaped, so `"key":"<zeros>"`
            // occurs only where the key itself was written (never inside, say, the source file name).
            let digest = Array(hash.utf8)
            let field = Array("\"\(StoreMetadata.prefix)source_sha256\":\"".utf8)
            guard digest.count == 64, let at = Self.find(field + Array(placeholder.utf8) + [UInt8(ascii: "\"")], in: header)
            else { throw StoreError.unsupportedFormat("could not record the source sha256") }
            try digest.withUnsafeBytes { try writer.write($0, at: at + field.count) }
            metadata.sourceSHA256 = hash
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

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        return (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
