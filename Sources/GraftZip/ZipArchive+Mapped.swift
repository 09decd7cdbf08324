import GraftCore

extension ZipArchive {
    /// A STORED member's bytes as a window into a read-only mapping of the archive — no copy — after
    /// checking its CRC-32 once per member (the same policy as `read`); nil when the member is compressed or its data
    /// could not be located with certainty, in which case `read` is the way.
    ///
    /// torch writes checkpoint records stored and aligned so they can be used in place; reading 100 MB
    /// this way costs the checksum only, not libzip's two copies.
    public func mappedRead(_ entry: ZipEntry) throws -> ByteBuffer? {
        guard entry.compression == .stored, entries.indices.contains(entry.index), entries[entry.index] == entry,
              let (file, locator) = mappedView(), let start = locator.dataOffsets[entry.index]
        else { return nil }
        let window = try file.buffer(offset: start, count: entry.size)
        if entry.crc32 == 0 && entry.size > 0 {
            guard allowMissingCRC else { throw ZipError.crcNotRecorded(entry: entry.name) }
            return window
        }
        if verifiedEntries.contains(entry.index) { return window }
        guard window.withUnsafeBytes(CRC32.checksum) == entry.crc32 else { throw ZipError.crcMismatch(entry: entry.name) }
        verifiedEntries.insert(entry.index)
        return window
    }
}
