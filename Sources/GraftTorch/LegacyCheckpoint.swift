import GraftCore
import GraftPickle

/// Reads the single-stream format of torch ≤ 1.5 (and `_use_new_zipfile_serialization=False`).
///
/// Layout: five pickles — the magic number, the protocol version (1001), `sys_info`, the object
/// (persistent ids are `('storage', type, key, location, numel, view_metadata)`), the list of storage
/// keys — then, for each key in that list's order, an 8-byte little-endian element count followed by
/// the storage's raw bytes. (burn once read this without the 8-byte counts and loaded wrong weights.)
struct LegacyCheckpointReader {
    /// PROTO 2, LONG1 of 10 bytes = 0x1950a86a20f9469cfc6c, STOP.
    static let magicPickle: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
    static let magicNumber: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    let file: MappedFile
    let options: TorchImportOptions

    func read() throws -> TorchCheckpoint {
        let bytes = file.bytes
        let limits = options.pickleLimits
        let magic = try TorchCheckpoint.decodePickle(bytes, record: "magic number", limits: limits)
        guard case .bigInt(let m) = magic.value, m == Self.magicNumber else { throw TorchError.badMagic }
        let proto = try TorchCheckpoint.decodePickle(bytes, from: magic.end, record: "protocol version", limits: limits)
        guard proto.value.intValue == 1001 else { throw TorchError.badProtocolVersion(proto.value.kindDescription) }
        let sysInfo = try TorchCheckpoint.decodePickle(bytes, from: proto.end, record: "sys_info", limits: limits)
        let littleEndian = try Self.isLittleEndian(sysInfo.value)
        let main = try TorchCheckpoint.decodePickle(bytes, from: sysInfo.end, record: "object pickle", limits: limits)
        let keysPickle = try TorchCheckpoint.decodePickle(bytes, from: main.end, record: "storage key list", limits: limits)
        guard let keyValues = keysPickle.value.sequenceValue else {
            throw TorchError.unexpectedTopLevel("storage key list is \(keysPickle.value.kindDescription)")
        }
        let keys = try keyValues.map { v -> String in
            guard let k = v.stringValue else { throw TorchError.invalidPersistentID("storage key \(v.kindDescription)") }
            return k
        }

        let source = LegacyStorageSource(file: file, bigEndian: !littleEndian)
        let rebuild = TensorRebuild(source: source, maxRank: options.maxRank, resolve: Self.storageReference)
        let root = try rebuild.interpret(main.value)

        // Lay out the storages: each is an 8-byte count then count × itemsize bytes, in list order.
        var offset = keysPickle.end
        for key in keys {
            guard let storage = rebuild.storages[key] else {
                throw TorchError.inconsistentStorage("storage '\(key)' is listed but no tensor uses it")
            }
            var reader = ByteReader(bytes, offset: offset)
            guard let raw = try? reader.u64LE() else {
                throw TorchError.storageSizeMismatch(storage: key, declaredBytes: 8, actualBytes: max(0, bytes.count - offset))
            }
            guard let count = Checked.int(raw) else { throw TorchError.overflow("storage '\(key)' count") }
            guard count == storage.elementCount else {
                throw TorchError.inconsistentStorage("storage '\(key)' holds \(count) elements, the pickle declares \(storage.elementCount)")
            }
            let size = count * storage.dtype.itemSize  // no overflow: checked when the storage was declared
            let dataStart = offset + 8
            guard size <= bytes.count - dataStart else {
                throw TorchError.storageSizeMismatch(storage: key, declaredBytes: size, actualBytes: bytes.count - dataStart)
            }
            source.ranges[key] = dataStart..<(dataStart + size)
            offset = dataStart + size
        }
        let unlisted = Set(rebuild.storages.keys).subtracting(keys)
        if let missing = unlisted.sorted().first { throw TorchError.missingRecord("storage '\(missing)'") }
        guard offset == bytes.count else { throw TorchError.trailingData(record: "storage data", bytes: bytes.count - offset) }

        return TorchCheckpoint(
            format: .legacy, root: root, archivePrefix: nil, byteOrder: littleEndian ? "little" : "big",
            notes: ["legacy serialization, \(keys.count) storages"])
    }

    static func isLittleEndian(_ sysInfo: PickleValue) throws -> Bool {
        guard let entries = sysInfo.dictEntries else {
            throw TorchError.unexpectedTopLevel("sys_info is \(sysInfo.kindDescription)")
        }
        for e in entries where e.key.stringValue == "little_endian" {
            if case .bool(let b) = e.value { return b }
        }
        throw TorchError.unexpectedTopLevel("sys_info has no little_endian flag")
    }

    /// `('storage', type, key, location, numel, view_metadata)`; view_metadata is None or
    /// `(view_key, offset, size)` for old storage views. `('module', …)` ids mean a whole pickled model.
    static func storageReference(_ pid: PickleValue) throws -> StorageReference {
        guard let items = pid.sequenceValue, items.count == 6, items[0].stringValue == "storage" else {
            if let items = pid.sequenceValue, items.first?.stringValue == "module" {
                throw TorchError.unexpectedTopLevel("the file pickles a whole nn.Module (torch.save(model)); save model.state_dict()")
            }
            throw TorchError.invalidPersistentID("expected ('storage', type, key, location, numel, view), got \(pid.kindDescription)")
        }
        guard let key = items[2].stringValue, !key.isEmpty else {
            throw TorchError.invalidPersistentID("storage key \(items[2].kindDescription)")
        }
        guard let numel = items[4].intValue, numel >= 0 else {
            throw TorchError.invalidPersistentID("storage '\(key)' size \(items[4].kindDescription)")
        }
        var ref = StorageReference(key: key, dtype: try ZipCheckpointReader.storageDType(items[1]), declaredCount: numel)
        if let view = items[5].sequenceValue {
            guard view.count == 3, let viewKey = view[0].stringValue, let off = view[1].intValue,
                  let size = view[2].intValue, off >= 0, size >= 0, Checked.add(off, size) != nil
            else { throw TorchError.invalidPersistentID("storage view of '\(key)'") }
            // The tensor reads a window of the root storage `key`; `viewKey` only names the view.
            _ = viewKey
            ref.viewOffset = off
            ref.viewCount = size
        }
        return ref
    }
}

/// Storage bytes as windows into the mapped legacy file (copied only to byte-swap a big-endian file).
final class LegacyStorageSource: StorageSource, @unchecked Sendable {
    let file: MappedFile
    let bigEndian: Bool
    var ranges: [String: Range<Int>] = [:]

    init(file: MappedFile, bigEndian: Bool) {
        self.file = file
        self.bigEndian = bigEndian
    }

    func bytes(of storage: StorageDescriptor) throws -> ByteBuffer {
        guard let range = ranges[storage.key] else { throw TorchError.missingRecord("storage '\(storage.key)'") }
        let window = try file.buffer(offset: range.lowerBound, count: range.count)
        guard bigEndian else { return window }
        let copy = ByteBuffer(copying: window.bytes)
        ElementConversion.swapByteOrder(
            UnsafeMutableRawBufferPointer(start: copy.mutableBase, count: copy.count), itemSize: storage.dtype.itemSize)
        return copy
    }
}
