import CZip
import GraftCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Graft's own checks of every entry, on top of libzip's consistency checks, run once at open.
struct ZipEntryScan {
    let handle: OpaquePointer
    let path: String
    let fileSize: Int
    let limits: ZipLimits

    /// Smallest local header (signature ... extra length) and central directory entry, in bytes.
    private static let localHeaderSize = 30
    private static let centralEntrySize = 46

    func entries() throws -> [ZipEntry] {
        let declared = zip_get_num_entries(handle, 0)
        guard declared >= 0, let count = Int(exactly: declared) else {
            throw ZipError.inconsistentArchive(path: path, reason: "unreadable entry count")
        }
        guard count <= limits.maxEntries else {
            throw ZipError.tooManyEntries(path: path, count: count, limit: limits.maxEntries)
        }
        var entries: [ZipEntry] = []
        entries.reserveCapacity(count)
        var seen = Set<String>()
        // Every entry needs its own local header, data and central record, none shared, and the
        // archive ends with a 22-byte end record: more than that in total means entries overlap.
        var claimed = LibzipOpen.endRecordSize
        for index in 0..<count {
            let (entry, nameLength) = try scan(index)
            guard seen.insert(entry.name).inserted else { throw ZipError.duplicateEntry(name: entry.name) }
            let headers = Self.localHeaderSize + Self.centralEntrySize + 2 * nameLength
            guard let sum = Checked.add(claimed, headers).flatMap({ Checked.add($0, entry.compressedSize) }),
                sum <= fileSize
            else {
                throw ZipError.overlappingEntries(
                    entry: entry.name,
                    claimedBytes: Checked.add(claimed, headers + entry.compressedSize) ?? Int.max,
                    fileSize: fileSize)
            }
            claimed = sum
            entries.append(entry)
        }
        return entries
    }

    /// One entry's record, checked; also the raw name length in bytes.
    private func scan(_ index: Int) throws -> (ZipEntry, Int) {
        let i = UInt64(index)
        var st = zip_stat_t()
        zip_stat_init(&st)
        // ENC_RAW: the name's bytes as stored, not libzip's CP437-to-UTF-8 guess.
        guard zip_stat_index(handle, i, ZIP_FL_ENC_RAW, &st) == 0 else {
            throw ZipError.inconsistentArchive(
                path: path, reason: "entry \(index): \(LibzipStatus.of(archive: handle).message)")
        }
        let needed =
            ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_CRC | ZIP_STAT_COMP_METHOD
            | ZIP_STAT_ENCRYPTION_METHOD
        guard st.valid & UInt64(needed) == UInt64(needed), let cName = st.name else {
            throw ZipError.inconsistentArchive(
                path: path, reason: "entry \(index) lacks a name, size, CRC or method")
        }
        let raw = LibzipStatus.bytes(of: cName)
        let name = try ZipEntryName.validate(raw, maxLength: limits.maxNameLength)

        if st.encryption_method != UInt16(ZIP_EM_NONE) { throw ZipError.encryptedEntry(name: name) }
        try checkFileType(index: i, name: name)

        let compression = ZipCompression(method: Int32(st.comp_method))
        guard let size = Int(exactly: st.size), size <= limits.maxEntrySize else {
            throw ZipError.entryTooLarge(entry: name, size: st.size, limit: limits.maxEntrySize)
        }
        guard let compressedSize = Int(exactly: st.comp_size), compressedSize <= fileSize else {
            throw ZipError.truncated(
                path: path,
                reason: "entry \(ZipError.display(name)) claims \(st.comp_size) stored bytes, "
                    + "but the file has \(fileSize)")
        }
        if compression == .stored, size != compressedSize {
            throw ZipError.sizeMismatch(
                entry: name, declared: size, reason: "it is stored (uncompressed) in \(compressedSize) bytes")
        }
        if compression != .stored, size > limits.compressionRatioFloor,
            Checked.mul(compressedSize, limits.maxCompressionRatio).map({ size > $0 }) ?? false
        {
            throw ZipError.compressionBomb(
                entry: name, size: size, compressedSize: compressedSize, maxRatio: limits.maxCompressionRatio)
        }
        let entry = ZipEntry(
            name: name, index: index, size: size, compressedSize: compressedSize, crc32: st.crc,
            compression: compression)
        return (entry, raw.count)
    }

    /// Rejects entries whose Unix mode marks a symbolic link, device, FIFO or socket: Graft never
    /// materialises them, and a link's "data" is its target path, not content.
    private func checkFileType(index: UInt64, name: String) throws {
        var system: UInt8 = 0
        var attributes: UInt32 = 0
        guard zip_file_get_external_attributes(handle, index, 0, &system, &attributes) == 0,
            system == UInt8(ZIP_OPSYS_UNIX)
        else { return }
        let kinds: [UInt32: String] = [
            UInt32(S_IFLNK): "a symbolic link", UInt32(S_IFIFO): "a FIFO",
            UInt32(S_IFCHR): "a character device",
            UInt32(S_IFBLK): "a block device", UInt32(S_IFSOCK): "a socket",
        ]
        let type = (attributes >> 16) & UInt32(S_IFMT)
        switch type {
        case 0, UInt32(S_IFREG), UInt32(S_IFDIR): return
        default:
            throw ZipError.unsupportedEntryType(
                name: name,
                reason: kinds[type] ?? "a special file (Unix mode \(String(attributes >> 16, radix: 8)))")
        }
    }
}
