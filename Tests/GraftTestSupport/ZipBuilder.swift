/// Builds zip archives byte by byte, so tests can make exactly the broken archive they need:
/// a patched CRC, central and local headers that disagree, wrong end-record counts, shared or
/// overlapping local headers, ZIP64 sizes, odd names, trailing junk.
///
/// By default every field is consistent and the result is a valid archive that any reader opens.
/// Test-only: this is a writer of hostile files, not a zip implementation Graft uses.
public struct ZipBuilder {
    public struct Member {
        /// Raw name bytes (any bytes, including NUL or invalid UTF-8).
        public var name: [UInt8]
        /// The bytes as stored in the file (the DEFLATE stream for method 8).
        public var data: [UInt8]
        public var method: UInt16
        public var crc32: UInt32
        public var uncompressedSize: UInt64
        /// General-purpose flags (bit 0: encrypted, bit 11: UTF-8 name).
        public var flags: UInt16 = 0
        /// High byte: host system (3 = Unix, whose external attributes carry the file mode).
        public var versionMadeBy: UInt16 = 20
        public var externalAttributes: UInt32 = 0
        public var localExtra: [UInt8] = []
        public var centralExtra: [UInt8] = []
        /// Write the sizes (and the central record's offset) in ZIP64 extra fields.
        public var zip64 = false
        // Central-record-only values, to make the central directory contradict the local header.
        public var centralName: [UInt8]?
        public var centralCRC32: UInt32?
        public var centralMethod: UInt16?
        public var centralCompressedSize: UInt64?
        public var centralUncompressedSize: UInt64?
        /// Point this member's central record at an earlier member's local header and write no
        /// local header or data of its own.
        public var sharesLocalHeaderOf: Int?

        /// A member storing `data` as is (method 0), or, with `uncompressed`, a compressed stream
        /// whose CRC and size are those of `uncompressed`.
        public init(name: String, data: [UInt8], method: UInt16 = 0, uncompressed: [UInt8]? = nil) {
            self.name = Array(name.utf8)
            self.data = data
            self.method = method
            let plain = uncompressed ?? data
            self.crc32 = ZipBuilder.crc32(plain)
            self.uncompressedSize = UInt64(plain.count)
        }
    }

    /// What `build()` produced, with the offsets tests patch.
    public struct Output {
        public var bytes: [UInt8]
        public var localHeaderOffsets: [Int]
        public var dataOffsets: [Int]
        public var centralDirectoryOffset: Int
        public var endRecordOffset: Int
    }

    public var members: [Member]
    /// Replaces both entry counts of the end record.
    public var entryCountOverride: UInt16?
    /// Added to the central directory offset / size written in the end record.
    public var centralDirectoryOffsetDelta = 0
    public var centralDirectorySizeDelta = 0
    /// Junk bytes between the last entry and the central directory.
    public var gapBeforeCentralDirectory = 0
    public var comment: [UInt8] = []
    /// Bytes after the end record (and its comment).
    public var trailing: [UInt8] = []
    /// Write a ZIP64 end record and locator (the plain end record then holds 0xFFFF/0xFFFFFFFF).
    public var zip64EndRecord = false
    /// Added to the ZIP64 end record offset stored in the locator.
    public var zip64LocatorOffsetDelta = 0

    public init(members: [Member] = []) { self.members = members }

    public func build() -> Output {
        var out: [UInt8] = []
        var localOffsets: [Int] = []
        var dataOffsets: [Int] = []
        for m in members {
            if let shared = m.sharesLocalHeaderOf {
                localOffsets.append(localOffsets[shared])
                dataOffsets.append(dataOffsets[shared])
                continue
            }
            localOffsets.append(out.count)
            let extra =
                (m.zip64 ? Self.zip64Field([m.uncompressedSize, UInt64(m.data.count)]) : []) + m.localExtra
            out.zipAppend32(0x0403_4B50)
            out.zipAppend16(m.zip64 ? 45 : 20)
            out.zipAppend16(m.flags)
            out.zipAppend16(m.method)
            out.zipAppend16(0)  // time
            out.zipAppend16(0x21)  // 1980-01-01
            out.zipAppend32(m.crc32)
            out.zipAppend32(m.zip64 ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: m.data.count))
            out.zipAppend32(m.zip64 ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: m.uncompressedSize))
            out.zipAppend16(UInt16(m.name.count))
            out.zipAppend16(UInt16(extra.count))
            out += m.name + extra
            dataOffsets.append(out.count)
            out += m.data
        }
        out += [UInt8](repeating: 0x55, count: gapBeforeCentralDirectory)

        let cdOffset = out.count
        for (i, m) in members.enumerated() {
            let name = m.centralName ?? m.name
            let compressed = m.centralCompressedSize ?? UInt64(m.data.count)
            let uncompressed = m.centralUncompressedSize ?? m.uncompressedSize
            let offset = UInt64(localOffsets[i])
            let extra = (m.zip64 ? Self.zip64Field([uncompressed, compressed, offset]) : []) + m.centralExtra
            out.zipAppend32(0x0201_4B50)
            out.zipAppend16(m.versionMadeBy)
            out.zipAppend16(m.zip64 ? 45 : 20)
            out.zipAppend16(m.flags)
            out.zipAppend16(m.centralMethod ?? m.method)
            out.zipAppend16(0)
            out.zipAppend16(0x21)
            out.zipAppend32(m.centralCRC32 ?? m.crc32)
            out.zipAppend32(m.zip64 ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: compressed))
            out.zipAppend32(m.zip64 ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: uncompressed))
            out.zipAppend16(UInt16(name.count))
            out.zipAppend16(UInt16(extra.count))
            out.zipAppend16(0)  // comment length
            out.zipAppend16(0)  // disk
            out.zipAppend16(0)  // internal attributes
            out.zipAppend32(m.externalAttributes)
            out.zipAppend32(m.zip64 ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: offset))
            out += name + extra
        }
        let cdSize = out.count - cdOffset
        let writtenOffset = cdOffset + centralDirectoryOffsetDelta
        let writtenSize = cdSize + centralDirectorySizeDelta
        let count = entryCountOverride ?? UInt16(truncatingIfNeeded: members.count)

        if zip64EndRecord {
            let eocd64 = out.count
            out.zipAppend32(0x0606_4B50)
            out.zipAppend64(44)
            out.zipAppend16(45)
            out.zipAppend16(45)
            out.zipAppend32(0)
            out.zipAppend32(0)
            out.zipAppend64(UInt64(count))
            out.zipAppend64(UInt64(count))
            out.zipAppend64(UInt64(writtenSize))
            out.zipAppend64(UInt64(writtenOffset))
            out.zipAppend32(0x0706_4B50)
            out.zipAppend32(0)
            out.zipAppend64(UInt64(eocd64 + zip64LocatorOffsetDelta))
            out.zipAppend32(1)
        }
        let endRecord = out.count
        out.zipAppend32(0x0605_4B50)
        out.zipAppend16(0)
        out.zipAppend16(0)
        out.zipAppend16(zip64EndRecord ? 0xFFFF : count)
        out.zipAppend16(zip64EndRecord ? 0xFFFF : count)
        out.zipAppend32(zip64EndRecord ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: writtenSize))
        out.zipAppend32(zip64EndRecord ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: writtenOffset))
        out.zipAppend16(UInt16(comment.count))
        out += comment + trailing
        return Output(
            bytes: out, localHeaderOffsets: localOffsets, dataOffsets: dataOffsets,
            centralDirectoryOffset: cdOffset, endRecordOffset: endRecord)
    }

    private static func zip64Field(_ values: [UInt64]) -> [UInt8] {
        var field: [UInt8] = []
        field.zipAppend16(0x0001)
        field.zipAppend16(UInt16(values.count * 8))
        for v in values { field.zipAppend64(v) }
        return field
    }

    /// One extra field: id, length, payload.
    public static func extraField(id: UInt16, _ payload: [UInt8]) -> [UInt8] {
        var field: [UInt8] = []
        field.zipAppend16(id)
        field.zipAppend16(UInt16(payload.count))
        return field + payload
    }
}

// MARK: - CRC-32 and DEFLATE helpers

extension ZipBuilder {
    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The zip/zlib CRC-32 (reflected polynomial 0xEDB88320).
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    /// A valid raw DEFLATE stream of `bytes` made of stored blocks (no compression), so tests can
    /// build DEFLATE members without zlib.
    public static func storedDeflate(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var start = 0
        repeat {
            let end = min(start + 65_535, bytes.count)
            out.append(end == bytes.count ? 1 : 0)  // BFINAL, BTYPE = 00 (stored)
            let n = UInt16(end - start)
            out.zipAppend16(n)
            out.zipAppend16(~n)
            out += bytes[start..<end]
            start = end
        } while start < bytes.count
        return out
    }

    /// The local records of an archive whose entries follow each other without data descriptors
    /// (what `ZipWriter` writes): name, header offset, data offset and stored size, or nil if the
    /// bytes do not walk.
    public static func localRecords(_ bytes: [UInt8]) -> [(name: String, header: Int, data: Int, size: Int)]?
    {
        var records: [(name: String, header: Int, data: Int, size: Int)] = []
        var at = 0
        while at + 30 <= bytes.count, bytes.zipRead32(at) == 0x0403_4B50 {
            let nameLength = Int(bytes.zipRead16(at + 26))
            let extraLength = Int(bytes.zipRead16(at + 28))
            var size = Int(bytes.zipRead32(at + 18))
            let nameStart = at + 30
            guard nameStart + nameLength + extraLength <= bytes.count else { return nil }
            var e = nameStart + nameLength
            while e + 4 <= nameStart + nameLength + extraLength {  // ZIP64 sizes, if any
                let id = bytes.zipRead16(e)
                let len = Int(bytes.zipRead16(e + 2))
                if id == 1, len >= 16 { size = Int(bytes.zipRead64(e + 12)) }
                e += 4 + len
            }
            let data = nameStart + nameLength + extraLength
            let name = String(decoding: bytes[nameStart..<nameStart + nameLength], as: UTF8.self)
            records.append((name, at, data, size))
            at = data + size
        }
        return records
    }
}

// MARK: - Little-endian byte helpers

extension Array where Element == UInt8 {
    fileprivate mutating func zipAppend16(_ v: UInt16) { zipAppend(UInt64(v), bytes: 2) }
    fileprivate mutating func zipAppend32(_ v: UInt32) { zipAppend(UInt64(v), bytes: 4) }
    fileprivate mutating func zipAppend64(_ v: UInt64) { zipAppend(v, bytes: 8) }

    private mutating func zipAppend(_ v: UInt64, bytes: Int) {
        for i in 0..<bytes { append(UInt8((v >> UInt64(8 * i)) & 0xFF)) }
    }

    /// The little-endian integer of `bytes` bytes at `at`.
    public func zipReadLE(_ at: Int, bytes: Int) -> UInt64 {
        (0..<bytes).reduce(0) { $0 | UInt64(self[at + $1]) << UInt64(8 * $1) }
    }

    fileprivate func zipRead16(_ at: Int) -> UInt16 { UInt16(zipReadLE(at, bytes: 2)) }
    fileprivate func zipRead32(_ at: Int) -> UInt32 { UInt32(zipReadLE(at, bytes: 4)) }
    fileprivate func zipRead64(_ at: Int) -> UInt64 { zipReadLE(at, bytes: 8) }

    /// Overwrites `bytes` bytes at `at` with `value`, little-endian (to patch built archives).
    public mutating func zipPatchLE(_ at: Int, _ value: UInt64, bytes: Int) {
        for i in 0..<bytes { self[at + i] = UInt8((value >> UInt64(8 * i)) & 0xFF) }
    }
}
