import CZip
import GraftCore

/// Where the bytes of each STORED member begin in the file, for reading records in place.
///
/// libzip validates the archive (every central-directory entry against its local header) but does not
/// tell where a member's data starts. torch writes its records uncompressed and 64-byte aligned
/// precisely so they can be used in place, so after libzip's checks this reads the central directory's
/// local-header offsets and each local header's name and extra-field lengths — nothing else — and
/// cross-checks every name and size against libzip's view. Any disagreement, or anything it does not
/// understand, makes it give up (`nil`), and callers fall back to libzip's reads.
struct StoredEntryLocator {
    /// Data start of each member, by central-directory index; nil when not located.
    let dataOffsets: [Int?]

    init?(bytes: UnsafeRawBufferPointer, entries: [ZipEntry]) {
        guard let offsets = try? Self.locate(bytes, entries) else { return nil }
        dataOffsets = offsets
    }

    private static func locate(_ bytes: UnsafeRawBufferPointer, _ entries: [ZipEntry]) throws -> [Int?]? {
        guard let eocd = findEndRecord(bytes) else { return nil }
        var r = ByteReader(bytes, offset: eocd + 10)
        var count = Int(try r.u16LE())
        _ = try r.u32LE()  // directory size
        var directory = Int(try r.u32LE())
        // ZIP64: the locator sits right before the end record and points at the ZIP64 end record.
        if eocd >= 20, bytes.loadUnaligned(fromByteOffset: eocd - 20, as: UInt32.self).littleEndian == 0x0706_4B50 {
            var l = ByteReader(bytes, offset: eocd - 20 + 8)
            guard let end64 = Checked.int(try l.u64LE()) else { return nil }
            var z = ByteReader(bytes, offset: end64)
            guard try z.u32LE() == 0x0606_4B50 else { return nil }
            try z.skip(8 + 2 + 2 + 4 + 4 + 8)
            guard let c = Checked.int(try z.u64LE()) else { return nil }
            try z.skip(8)
            guard let d = Checked.int(try z.u64LE()) else { return nil }
            count = c
            directory = d
        }
        guard count == entries.count else { return nil }
        var cd = ByteReader(bytes, offset: directory)
        var result: [Int?] = []
        for entry in entries {
            guard try cd.u32LE() == 0x0201_4B50 else { return nil }
            try cd.skip(6)
            let method = try cd.u16LE()
            try cd.skip(8)
            var compressed = UInt64(try cd.u32LE())
            var size = UInt64(try cd.u32LE())
            let nameLength = Int(try cd.u16LE()), extraLength = Int(try cd.u16LE()), commentLength = Int(try cd.u16LE())
            try cd.skip(8)
            var local = UInt64(try cd.u32LE())
            let name = String(decoding: try cd.slice(nameLength), as: UTF8.self)
            var extra = ByteReader(try cd.slice(extraLength))
            try cd.skip(commentLength)
            // ZIP64 extended information replaces the fields that are 0xFFFFFFFF, in this order.
            while extra.remaining >= 4 {
                let id = try extra.u16LE(), length = Int(try extra.u16LE())
                var field = ByteReader(try extra.slice(length))
                guard id == 0x0001 else { continue }
                if size == 0xFFFF_FFFF { size = try field.u64LE() }
                if compressed == 0xFFFF_FFFF { compressed = try field.u64LE() }
                if local == 0xFFFF_FFFF { local = try field.u64LE() }
            }
            guard name == entry.name, Checked.int(size) == entry.size, Checked.int(compressed) == entry.compressedSize,
                  let header = Checked.int(local)
            else { return nil }
            guard method == 0 else { result.append(nil); continue }
            var lh = ByteReader(bytes, offset: header)
            guard try lh.u32LE() == 0x0403_4B50 else { return nil }
            try lh.skip(22)
            let n = Int(try lh.u16LE()), e = Int(try lh.u16LE())
            guard let start = Checked.add(header, 30 + n + e), let end = Checked.add(start, entry.size), end <= bytes.count else {
                return nil
            }
            result.append(start)
        }
        return result
    }

    /// The end-of-central-directory record: its signature within the last 64 KiB + 22 bytes.
    private static func findEndRecord(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 22 else { return nil }
        var i = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65535)
        while i >= lowest {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian == 0x0605_4B50 { return i }
            i -= 1
        }
        return nil
    }
}

/// CRC-32 (zlib) of bytes in memory, fed in slices that fit zlib's 32-bit length.
enum CRC32 {
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt = 0
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, 1 << 30)
            crc = crc32(crc, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset, UInt32(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }
}
