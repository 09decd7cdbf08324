/// Bounds that an archive must respect before anything is allocated for it.
///
/// Tests inject tiny limits (Keras-style) so bomb cases stay a few bytes long.
public struct ZipLimits: Sendable, Equatable {
    /// The most entries an archive may have. A torch checkpoint has a few records per tensor.
    public var maxEntries: Int
    /// The longest entry name, in UTF-8 bytes.
    public var maxNameLength: Int
    /// The largest declared uncompressed size of one entry, in bytes.
    public var maxEntrySize: Int
    /// A compressed entry above `compressionRatioFloor` bytes may expand at most this many times.
    /// The check is per entry, so a bomb member cannot be diluted by harmless ones.
    public var maxCompressionRatio: Int
    /// Uncompressed size up to which `maxCompressionRatio` does not apply (small, highly
    /// compressible records such as zero-filled buffers are legitimate).
    public var compressionRatioFloor: Int

    public init(
        maxEntries: Int = 100_000,
        maxNameLength: Int = 4096,
        maxEntrySize: Int = 16 << 30,
        maxCompressionRatio: Int = 100,
        compressionRatioFloor: Int = 256 << 20
    ) {
        self.maxEntries = maxEntries
        self.maxNameLength = maxNameLength
        self.maxEntrySize = maxEntrySize
        self.maxCompressionRatio = maxCompressionRatio
        self.compressionRatioFloor = compressionRatioFloor
    }

    /// 100,000 entries, names up to 4 KiB, entries up to 16 GiB, and at most 100× expansion for
    /// compressed entries above 256 MiB.
    public static let `default` = ZipLimits()
}

/// How an entry's bytes are stored.
public enum ZipCompression: Sendable, Equatable, CustomStringConvertible {
    /// Method 0: the bytes as they are (every torch checkpoint record).
    case stored
    /// Method 8: DEFLATE (`.npz`, `.keras`, zips made by other tools).
    case deflated
    /// Any other method number (bzip2 = 12, LZMA = 14, ...); such entries are listed, not read.
    case other(Int32)

    /// The compression method as stored in the zip headers.
    public var method: Int32 {
        switch self {
        case .stored: return 0
        case .deflated: return 8
        case .other(let m): return m
        }
    }

    public init(method: Int32) {
        switch method {
        case 0: self = .stored
        case 8: self = .deflated
        default: self = .other(method)
        }
    }

    public var description: String {
        switch self {
        case .stored: return "stored"
        case .deflated: return "deflated"
        case .other(let m): return "method \(m)"
        }
    }
}

/// One member of an archive, as its central directory describes it (already validated).
public struct ZipEntry: Sendable, Equatable {
    /// The validated name: UTF-8, relative, no `.`/`..` components, no backslash.
    public let name: String
    /// The position in the central directory.
    public let index: Int
    /// Uncompressed size in bytes.
    public let size: Int
    /// Size of the stored bytes (equal to `size` for stored entries).
    public let compressedSize: Int
    /// The CRC-32 recorded in the archive (0 when the writer skipped it).
    public let crc32: UInt32
    public let compression: ZipCompression

    public init(
        name: String, index: Int, size: Int, compressedSize: Int, crc32: UInt32, compression: ZipCompression
    ) {
        self.name = name
        self.index = index
        self.size = size
        self.compressedSize = compressedSize
        self.crc32 = crc32
        self.compression = compression
    }

    /// A directory entry (`name/`, no data).
    public var isDirectory: Bool { name.hasSuffix("/") }
}
