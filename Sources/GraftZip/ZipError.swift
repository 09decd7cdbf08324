import GraftCore
/// Errors of the zip container: opening, validating and reading an archive, and writing one.
///
/// Archive-level cases name the file; entry-level cases name the entry. Entry names in messages are
/// escaped (`ZipError.display(_:)`), so a hostile name cannot inject terminal control sequences.
public enum ZipError: Error, CustomStringConvertible, Equatable {
    // MARK: - Opening the file

    /// The path could not be opened (missing, permission, ...).
    case cannotOpen(path: String, reason: String)
    /// The path is a FIFO, device, directory or other non-regular file; nothing was read from it.
    case notRegularFile(path: String)
    /// No zip structure at all (too short, or no end-of-central-directory record and no zip header).
    case notAZipArchive(path: String)
    /// The file starts like a zip but is cut short: the end of central directory is missing, or
    /// a record runs past the end of the file.
    case truncated(path: String, reason: String)
    /// The central directory contradicts itself, the local headers or the file's size
    /// (libzip's consistency checks, `ZIP_CHECKCONS`).
    case inconsistentArchive(path: String, reason: String)
    /// A valid zip feature Graft does not read (multi-disk archives).
    case unsupportedArchive(path: String, reason: String)
    /// More entries than `ZipLimits.maxEntries`.
    case tooManyEntries(path: String, count: Int, limit: Int)
    /// The entries claim more bytes than the file holds, so some share bytes: a zip bomb made of
    /// overlapping or quoted entries. `entry` is where the running total first passed the size.
    case overlappingEntries(entry: String, claimedBytes: Int, fileSize: Int)

    // MARK: - Entries

    /// A name that is not a plain relative path (`../x`, `/abs`, `a\b`, `C:x`, NUL, bad UTF-8, ...).
    case invalidEntryName(name: String, reason: String)
    /// Two entries with the same name (or canonically equivalent Unicode names).
    case duplicateEntry(name: String)
    /// No entry of that name.
    case missingEntry(name: String)
    /// The entry is encrypted; Graft reads no encrypted data.
    case encryptedEntry(name: String)
    /// A symbolic link, device or other special file stored as an entry.
    case unsupportedEntryType(name: String, reason: String)
    /// A compression method other than stored (0) or DEFLATE (8).
    case unsupportedCompression(entry: String, method: Int32)
    /// The declared uncompressed size exceeds `ZipLimits.maxEntrySize`.
    case entryTooLarge(entry: String, size: UInt64, limit: Int)
    /// A compressed entry that would expand more than `ZipLimits.maxCompressionRatio` times.
    case compressionBomb(entry: String, size: Int, compressedSize: Int, maxRatio: Int)
    /// The entry's data is not as long as its header declares.
    case sizeMismatch(entry: String, declared: Int, reason: String)
    /// The data does not match the CRC-32 recorded for it.
    case crcMismatch(entry: String)
    /// The CRC field is 0 although the data is not empty (torch `set_crc32_options(False)`):
    /// the data cannot be checked. Open with `allowMissingCRC: true` to read it unchecked.
    case crcNotRecorded(entry: String)
    /// The DEFLATE stream is corrupt.
    case corruptCompressedData(entry: String, reason: String)
    /// `read(_:into:)` was given a buffer whose size is not the entry's size.
    case destinationSizeMismatch(entry: String, size: Int, destination: Int)
    /// Reading the entry failed (I/O error, or an unexpected libzip error).
    case readFailed(entry: String, reason: String)

    // MARK: - Writing

    /// The writer could not create, write, sync or rename its output.
    case writeFailed(path: String, reason: String)
    /// `add` after `commit`, or a second `commit`.
    case writerFinished(path: String)
    /// `commit` without any entry (libzip writes no empty archives).
    case emptyArchive(path: String)

    public var description: String {
        switch self {
        case .cannotOpen(let p, let r): return "cannot open \(p): \(r)"
        case .notRegularFile(let p): return "\(p) is not a regular file"
        case .notAZipArchive(let p): return "\(p) is not a zip archive"
        case .truncated(let p, let r): return "\(p) is truncated: \(r)"
        case .inconsistentArchive(let p, let r): return "\(p) is an inconsistent zip archive: \(r)"
        case .unsupportedArchive(let p, let r): return "\(p): unsupported zip archive: \(r)"
        case .tooManyEntries(let p, let c, let l):
            return "\(p) has \(c) entries, more than the limit of \(l)"
        case .overlappingEntries(let e, let c, let s):
            return
                "entries overlap (possible zip bomb): up to entry \(Self.display(e)) they claim \(c) bytes, "
                + "but the file has \(s)"
        case .invalidEntryName(let n, let r): return "invalid entry name \(Self.display(n)): \(r)"
        case .duplicateEntry(let n): return "duplicate entry \(Self.display(n))"
        case .missingEntry(let n): return "no entry named \(Self.display(n))"
        case .encryptedEntry(let n): return "entry \(Self.display(n)) is encrypted"
        case .unsupportedEntryType(let n, let r): return "entry \(Self.display(n)) is \(r), not a file"
        case .unsupportedCompression(let e, let m):
            return "entry \(Self.display(e)) uses compression method \(m); "
                + "only stored (0) and deflate (8) are read"
        case .entryTooLarge(let e, let s, let l):
            return "entry \(Self.display(e)) declares \(s) bytes, more than the limit of \(l)"
        case .compressionBomb(let e, let s, let c, let r):
            return "entry \(Self.display(e)) would expand \(c) compressed bytes to \(s), "
                + "more than \(r) times (possible zip bomb)"
        case .sizeMismatch(let e, let d, let r):
            return "entry \(Self.display(e)) declares \(d) bytes, but \(r)"
        case .crcMismatch(let e): return "CRC mismatch in entry \(Self.display(e)): the data is corrupt"
        case .crcNotRecorded(let e):
            return "CRC not recorded for entry \(Self.display(e)) (written with CRC checks off); "
                + "allow missing CRCs to read it unchecked"
        case .corruptCompressedData(let e, let r):
            return "entry \(Self.display(e)) has corrupt compressed data: \(r)"
        case .destinationSizeMismatch(let e, let s, let d):
            return "entry \(Self.display(e)) is \(s) bytes, but the destination holds \(d)"
        case .readFailed(let e, let r): return "cannot read entry \(Self.display(e)): \(r)"
        case .writeFailed(let p, let r): return "cannot write \(p): \(r)"
        case .writerFinished(let p): return "the zip writer for \(p) has already committed"
        case .emptyArchive(let p): return "cannot write \(p): a zip archive needs at least one entry"
        }
    }

    /// A name in quotes with control characters and quotes escaped (backslashes are kept as they
    /// are, so a rejected `a\b` reads as itself).
    public static func display(_ name: String) -> String { SafeText.quoted(name, limit: .max, escapeBackslash: false) }
}
