import GraftCore

/// Where libzip puts each local header and its data when `ZipWriter` adds STORED entries, so the
/// writer can pad every entry's data to a 64-byte boundary the way torch's writer does.
///
/// libzip writes a local header as: 30 fixed bytes, the name, a ZIP64 extra field (20 bytes) only
/// when the entry is 4 GiB or larger, then the entry's own local extra fields (our padding field:
/// 4 bytes of id and length plus the filler), then the data, with no data descriptor after it.
enum ZipLayout {
    /// The padding field's id: the bytes `FB` read as a little-endian UInt16, as torch writes it.
    static let paddingFieldID: UInt16 = 0x4246
    /// 00:00:00 in MS-DOS time.
    static let dosTime: UInt16 = 0
    /// 1980-01-01 in MS-DOS date: (year - 1980) << 9 | month << 5 | day.
    static let dosDate: UInt16 = (0 << 9) | (1 << 5) | 1

    private static let localHeaderSize = 30
    private static let zip64FieldSize = 20
    private static let extraFieldHeaderSize = 4

    /// The filler length that puts the data of an entry whose header starts at `offset` on a
    /// multiple of `ZipWriter.alignment`.
    static func padding(localHeaderAt offset: Int, nameLength: Int, size: Int) -> Int {
        // Past Int.max there is no archive to pad; `nextOffset` reports that case.
        guard let unpadded = Checked.add(offset, fixedHeaderSize(nameLength: nameLength, size: size)) else {
            return 0
        }
        let alignment = ZipWriter.alignment
        return (alignment - unpadded % alignment) % alignment
    }

    /// Where the next local header starts, or nil past `Int.max`.
    static func nextOffset(localHeaderAt offset: Int, nameLength: Int, size: Int) -> Int? {
        let header = fixedHeaderSize(nameLength: nameLength, size: size)
        let pad = padding(localHeaderAt: offset, nameLength: nameLength, size: size)
        return Checked.add(offset, header).flatMap { Checked.add($0, pad) }.flatMap { Checked.add($0, size) }
    }

    /// The local header without the filler: fixed part, name, optional ZIP64 field, padding field header.
    private static func fixedHeaderSize(nameLength: Int, size: Int) -> Int {
        let needsZip64 = UInt64(size) >= UInt64(UInt32.max)
        return localHeaderSize + nameLength + (needsZip64 ? zip64FieldSize : 0) + extraFieldHeaderSize
    }
}
