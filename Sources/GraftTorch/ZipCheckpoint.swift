import Foundation
import GraftCore
import GraftPickle
import GraftZip

/// Reads `torch.save` zip archives (torch ≥ 1.6).
///
/// Every record sits under one top-level folder whose name is whatever the writer chose (the saved
/// file's stem, or `archive` for a buffer), so the folder is read from the archive, never assumed.
/// Records: `data.pkl` (the object, storages replaced by persistent ids), `data/<key>` (one per
/// storage, raw bytes), `byteorder`, `version` (or `.data/version`), `.format_version`,
/// `.storage_alignment`. A TorchScript archive (`constants.pkl`, `code/`) is refused.
struct ZipCheckpointReader {
    let path: String
    let options: TorchImportOptions

    init(path: String, options: TorchImportOptions) {
        self.path = path
        self.options = options
    }

    func read() throws -> TorchCheckpoint {
        let archive: ZipArchive
        do {
            archive = try ZipArchive(path: path, limits: options.zipLimits, allowMissingCRC: options.allowMissingCRC)
        } catch let error as ZipError {
            throw TorchError.container(error.description)
        }
        let prefix = try Self.archivePrefix(archive.entries.map(\.name))
        func record(_ name: String) -> ZipEntry? { archive.entry(named: "\(prefix)/\(name)") }

        if record("constants.pkl") != nil || archive.entries.contains(where: { $0.name.hasPrefix("\(prefix)/code/") }) {
            throw TorchError.torchScript
        }
        guard let pickleEntry = record("data.pkl") else { throw TorchError.missingRecord("\(prefix)/data.pkl") }

        var notes: [String] = []
        let byteOrder = try text(of: record("byteorder"), in: archive) ?? "little"
        guard byteOrder == "little" || byteOrder == "big" else { throw TorchError.unsupportedByteOrder(byteOrder) }
        if let version = try text(of: record(".data/version") ?? record("version"), in: archive) {
            notes.append("serialization version \(version)")
        }
        if let alignment = try text(of: record(".storage_alignment"), in: archive), alignment != "64" {
            notes.append("storage alignment \(alignment)")
        }

        let pickleBytes = try readRecord(pickleEntry, in: archive)
        let decoded = try pickleBytes.withUnsafeBytes {
            try TorchCheckpoint.decodePickle($0, record: pickleEntry.name, limits: options.pickleLimits)
        }
        guard decoded.end == pickleBytes.count else {
            throw TorchError.trailingData(record: pickleEntry.name, bytes: pickleBytes.count - decoded.end)
        }

        let source = ZipStorageSource(archive: archive, prefix: prefix, bigEndian: byteOrder == "big")
        let rebuild = TensorRebuild(source: source, maxRank: options.maxRank, resolve: Self.storageReference)
        let root = try rebuild.interpret(decoded.value)

        // Every referenced storage must exist with exactly the declared size; nothing is zero-filled.
        for storage in rebuild.storages.values.sorted(by: { $0.key < $1.key }) {
            guard let entry = archive.entry(named: "\(prefix)/data/\(storage.key)") else {
                throw TorchError.missingRecord("\(prefix)/data/\(storage.key)")
            }
            let declared = storage.elementCount * storage.dtype.itemSize
            guard entry.size == declared else {
                throw TorchError.storageSizeMismatch(storage: entry.name, declaredBytes: declared, actualBytes: entry.size)
            }
        }
        let referenced = Set(rebuild.storages.keys.map { "\(prefix)/data/\($0)" })
        let unreferenced = archive.entries.filter { $0.name.hasPrefix("\(prefix)/data/") && !referenced.contains($0.name) }
        if !unreferenced.isEmpty {
            notes.append("\(unreferenced.count) storage record(s) not referenced by data.pkl (ignored)")
        }
        return TorchCheckpoint(format: .zip, root: root, archivePrefix: prefix, byteOrder: byteOrder, notes: notes)
    }

    /// The single top-level folder of all members.
    static func archivePrefix(_ names: [String]) throws -> String {
        var prefixes: [String] = []
        for name in names {
            guard let slash = name.firstIndex(of: "/") else {
                throw TorchError.unknownFormat("member '\(name)' is not inside a folder, so this is not a torch archive")
            }
            let prefix = String(name[..<slash])
            if !prefixes.contains(prefix) { prefixes.append(prefix) }
        }
        guard let first = prefixes.first else { throw TorchError.missingRecord("data.pkl") }
        guard prefixes.count == 1 else { throw TorchError.ambiguousArchive(prefixes) }
        return first
    }

    /// `('storage', <storage class>, key, location, numel)`.
    static func storageReference(_ pid: PickleValue) throws -> StorageReference {
        guard let items = pid.sequenceValue, items.count == 5, items[0].stringValue == "storage" else {
            throw TorchError.invalidPersistentID("expected ('storage', type, key, location, numel), got \(pid.kindDescription)")
        }
        guard let key = items[2].stringValue, !key.isEmpty, !key.contains("/"), !key.contains("..") else {
            throw TorchError.invalidPersistentID("storage key \(items[2].kindDescription)")
        }
        guard let numel = items[4].intValue, numel >= 0 else {
            throw TorchError.invalidPersistentID("storage '\(key)' size \(items[4].kindDescription)")
        }
        return StorageReference(key: key, dtype: try storageDType(items[1]), declaredCount: numel)
    }

    /// A typed storage class's dtype; nil for `torch.UntypedStorage`.
    static func storageDType(_ type: PickleValue) throws -> DType? {
        guard let name = type.qualifiedName else {
            throw TorchError.invalidPersistentID("storage type is \(type.kindDescription)")
        }
        if name == "torch.UntypedStorage" { return nil }
        if name.hasPrefix("torch."), let d = DType(torchStorageName: String(name.dropFirst(6))) { return d }
        throw TorchError.unsupportedDType(name)
    }

    private func text(of entry: ZipEntry?, in archive: ZipArchive) throws -> String? {
        guard let entry else { return nil }
        guard entry.size <= 1024 else { throw TorchError.malformedTensor("record \(entry.name) is \(entry.size) bytes") }
        let bytes = try readRecord(entry, in: archive)
        return bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func readRecord(_ entry: ZipEntry, in archive: ZipArchive) throws -> ByteBuffer {
        do { return try archive.read(entry) } catch let error as ZipError { throw TorchError.container(error.description) }
    }
}

/// Storage bytes read from `data/<key>` members, byte-swapped when the archive is big-endian.
final class ZipStorageSource: StorageSource, @unchecked Sendable {
    let archive: ZipArchive
    let prefix: String
    let bigEndian: Bool

    init(archive: ZipArchive, prefix: String, bigEndian: Bool) {
        self.archive = archive
        self.prefix = prefix
        self.bigEndian = bigEndian
    }

    /// The last storage read: the views of one storage usually come one after another, so an
    /// inflated or byte-swapped copy is made once for all of them, not once per view.
    private var last: (storage: StorageDescriptor, buffer: ByteBuffer)?

    func bytes(of storage: StorageDescriptor) throws -> ByteBuffer {
        if let last, last.storage == storage { return last.buffer }
        let buffer = try read(storage)
        last = (storage, buffer)
        return buffer
    }

    private func read(_ storage: StorageDescriptor) throws -> ByteBuffer {
        let name = "\(prefix)/data/\(storage.key)"
        guard let entry = archive.entry(named: name) else { throw TorchError.missingRecord(name) }
        var buffer: ByteBuffer
        do {
            // Stored records are used in place (CRC-checked) when they can be located; else libzip reads them.
            buffer = try archive.mappedRead(entry) ?? archive.read(entry)
        } catch let error as ZipError {
            throw TorchError.container(error.description)
        }
        let declared = storage.elementCount * storage.dtype.itemSize
        guard buffer.count == declared else {
            throw TorchError.storageSizeMismatch(storage: name, declaredBytes: declared, actualBytes: buffer.count)
        }
        if bigEndian {
            // Never write into a mapped window: swap a private copy.
            if buffer.isMapped { buffer = ByteBuffer(copying: buffer.bytes) }
            ElementConversion.swapByteOrder(
                UnsafeMutableRawBufferPointer(start: buffer.mutableBase, count: buffer.count),
                itemSize: storage.dtype.itemSize)
        }
        return buffer
    }
}
