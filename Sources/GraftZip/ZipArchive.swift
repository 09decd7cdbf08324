import CZip
import GraftCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A zip archive opened read-only through libzip, its entries validated up front.
///
/// Opening runs libzip's consistency checks (`ZIP_CHECKCONS`: every central directory entry
/// against its local header, entry count, directory bounds, duplicate names) and then Graft's own:
/// the entry count limit, safe names, no encryption, no special files, declared sizes within the
/// limits, no compression bomb, and no entries that share bytes. Reading verifies the CRC-32.
///
/// Nothing is ever extracted to disk: entries are read into memory by name. A `ZipArchive` holds a
/// libzip handle, which is not thread-safe; use one archive per thread.
public final class ZipArchive {
    /// The path the archive was opened from.
    public let path: String
    /// The entries in central-directory order.
    public let entries: [ZipEntry]
    /// The archive's size in bytes when it was opened.
    public let fileSize: Int
    public let limits: ZipLimits
    /// Whether entries whose CRC field is 0 are read without a check (see `ZipError.crcNotRecorded`).
    public let allowMissingCRC: Bool

    /// libzip's `zip_t *`, discarded in `deinit`.
    let handle: OpaquePointer
    /// The archive mapped read-only and its located stored members (`mappedRead`), made on first use.
    private var mapping: (file: MappedFile, locator: StoredEntryLocator)??
    /// Stored members whose mapped bytes already passed their CRC check: several tensors may view
    /// one storage, and a file must not be able to make us checksum the same bytes once per view.
    var verifiedEntries = Set<Int>()

    func mappedView() -> (MappedFile, StoredEntryLocator)? {
        if let cached = mapping { return cached }
        var made: (file: MappedFile, locator: StoredEntryLocator)?
        if let file = try? MappedFile(path: path), file.count == fileSize,
           let locator = StoredEntryLocator(bytes: file.bytes, entries: entries) {
            made = (file, locator)
        }
        mapping = .some(made)
        return made
    }
    private let indexByName: [String: Int]

    /// Opens and validates the archive at `path`.
    ///
    /// - Parameters:
    ///   - limits: bounds checked before anything is allocated for an entry.
    ///   - allowMissingCRC: read entries whose CRC field is 0 (torch `set_crc32_options(False)`)
    ///     without checking them, instead of failing with `crcNotRecorded`.
    /// - Throws: `ZipError` naming the file or the offending entry.
    public init(path: String, limits: ZipLimits = .default, allowMissingCRC: Bool = false) throws {
        let fd = try Self.openRegularFile(path)
        defer { close(fd) }
        let size = try Self.fileSize(fd, path: path)
        // libzip treats an empty file as an empty archive; a zip has at least its 22-byte end record.
        guard size >= LibzipOpen.endRecordSize else {
            throw LibzipOpen.unreadable(fd: fd, size: size, path: path)
        }
        let handle = try LibzipOpen.open(fd: fd, size: size, path: path)
        let scanned: [ZipEntry]
        do {
            scanned = try ZipEntryScan(handle: handle, path: path, fileSize: size, limits: limits).entries()
        } catch {
            zip_discard(handle)
            throw error
        }
        self.path = path
        self.handle = handle
        self.entries = scanned
        self.fileSize = size
        self.limits = limits
        self.allowMissingCRC = allowMissingCRC
        var index: [String: Int] = [:]
        for entry in scanned { index[entry.name] = entry.index }
        self.indexByName = index
    }

    deinit {
        zip_discard(handle)
    }

    /// The entry called `name`, if any.
    public func entry(named name: String) -> ZipEntry? {
        indexByName[name].map { entries[$0] }
    }

    /// The entries whose names start with `prefix` (e.g. `"archive/data/"`), in archive order.
    public func entries(withPrefix prefix: String) -> [ZipEntry] {
        entries.filter { $0.name.hasPrefix(prefix) }
    }

    // MARK: - Opening the file

    /// Opens `path` read-only after checking that it is a regular file. `O_NONBLOCK` keeps a FIFO
    /// from blocking the open; it changes nothing for regular files.
    private static func openRegularFile(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw ZipError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ZipError.cannotOpen(path: path, reason: reason)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw ZipError.notRegularFile(path: path)
        }
        return fd
    }

    private static func fileSize(_ fd: Int32, path: String) throws -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0, let size = Int(exactly: st.st_size), size >= 0 else {
            throw ZipError.cannotOpen(path: path, reason: "cannot read the file's size")
        }
        return size
    }
}
