import CZip
import GraftCore

extension ZipArchive {
    /// The whole entry, CRC-verified, in a new 64-byte-aligned buffer.
    ///
    /// A stored entry costs one copy from the file plus the CRC pass. At most `size + 1` bytes
    /// are ever produced, so a member that inflates past its declared size is caught without
    /// inflating the rest.
    /// - Throws: `ZipError` naming the entry (`crcMismatch`, `crcNotRecorded`, `sizeMismatch`,
    ///   `unsupportedCompression`, `corruptCompressedData`, ...).
    public func read(_ entry: ZipEntry) throws -> ByteBuffer {
        try checkReadable(entry)
        let buffer = ByteBuffer(uninitializedCount: entry.size)
        try readVerified(
            entry, into: UnsafeMutableRawBufferPointer(start: buffer.mutableBase, count: entry.size))
        return buffer
    }

    /// The whole entry, CRC-verified, into `destination`, which must be exactly `entry.size` bytes.
    /// On error the destination's contents are unspecified.
    public func read(_ entry: ZipEntry, into destination: UnsafeMutableRawBufferPointer) throws {
        guard destination.count == entry.size else {
            throw ZipError.destinationSizeMismatch(
                entry: entry.name, size: entry.size, destination: destination.count)
        }
        try checkReadable(entry)
        try readVerified(entry, into: destination)
    }

    /// The entry called `name`, read as `read(_:)` does.
    public func read(named name: String) throws -> ByteBuffer {
        guard let entry = entry(named: name) else { throw ZipError.missingEntry(name: name) }
        return try read(entry)
    }

    /// The entry must be one of this archive's (not a look-alike from another archive) and use a
    /// method Graft reads.
    private func checkReadable(_ entry: ZipEntry) throws {
        guard entries.indices.contains(entry.index), entries[entry.index] == entry else {
            throw ZipError.missingEntry(name: entry.name)
        }
        switch entry.compression {
        case .stored, .deflated: break
        case .other(let method): throw ZipError.unsupportedCompression(entry: entry.name, method: method)
        }
    }

    private func readVerified(_ entry: ZipEntry, into destination: UnsafeMutableRawBufferPointer) throws {
        guard let file = zip_fopen_index(handle, UInt64(entry.index), 0) else {
            throw LibzipStatus.of(archive: handle).readError(entry: entry)
        }
        defer { zip_fclose(file) }

        var filled = 0
        while filled < entry.size, let base = destination.baseAddress {
            let n = zip_fread(file, base + filled, UInt64(entry.size - filled))
            guard n > 0 else {
                // libzip checks CRC and length when the data ends; here it ended early.
                let status = n < 0 ? LibzipStatus.of(file: file) : nil
                if let status, status.code != ZIP_ER_CRC, status.code != ZIP_ER_INCONS {
                    throw status.readError(entry: entry)
                }
                throw ZipError.sizeMismatch(
                    entry: entry.name, declared: entry.size, reason: "its data ends after \(filled) bytes")
            }
            filled += Int(n)
        }

        // One read past the declared size: more data means the member is longer than declared;
        // otherwise this is the read that reaches the end, where libzip compares the CRC.
        var probe: UInt8 = 0
        let n = zip_fread(file, &probe, 1)
        if n > 0 {
            throw ZipError.sizeMismatch(
                entry: entry.name, declared: entry.size, reason: "its data is longer")
        }
        if n < 0 {
            let status = LibzipStatus.of(file: file)
            // CRC field 0 on non-empty data: the writer skipped the CRC (torch can). The length
            // was checked above, so with the caller's consent the data is accepted unchecked.
            if status.code == ZIP_ER_CRC, entry.crc32 == 0, allowMissingCRC { return }
            throw status.readError(entry: entry)
        }
    }
}
