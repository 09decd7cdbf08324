import CZip

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opening an archive with libzip, and turning libzip's open errors into precise `ZipError`s.
enum LibzipOpen {
    /// The end-of-central-directory record without comment: the smallest possible zip.
    static let endRecordSize = 22

    /// `zip_open_from_source` on a private duplicate of `fd`, with `ZIP_RDONLY | ZIP_CHECKCONS`.
    /// Going through the already-checked descriptor (not the path) means libzip reads the very
    /// file that `fstat` vetted.
    static func open(fd: Int32, size: Int, path: String) throws -> OpaquePointer {
        switch openHandle(fd: fd, flags: ZIP_RDONLY | ZIP_CHECKCONS) {
        case .success(let handle):
            return handle
        case .failure(let status):
            throw diagnose(status, fd: fd, size: size, path: path)
        }
    }

    private static func openHandle(fd: Int32, flags: Int32) -> Result<OpaquePointer, LibzipStatusBox> {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { return .failure(LibzipStatusBox(systemError: errno)) }
        guard let file = fdopen(copy, "rb") else {
            let code = errno
            close(copy)
            return .failure(LibzipStatusBox(systemError: code))
        }
        var error = zip_error_t()
        zip_error_init(&error)
        defer { zip_error_fini(&error) }
        // The source starts at offset 0 and runs to the end of the file (length -1).
        guard let source = zip_source_filep_create(file, 0, -1, &error) else {
            fclose(file)
            return .failure(LibzipStatusBox(LibzipStatus(&error)))
        }
        guard let handle = zip_open_from_source(source, flags, &error) else {
            zip_source_free(source)  // also closes `file`
            return .failure(LibzipStatusBox(LibzipStatus(&error)))
        }
        return .success(handle)
    }

    /// The `ZipError` for a failed open.
    private static func diagnose(_ box: LibzipStatusBox, fd: Int32, size: Int, path: String) -> ZipError {
        let status = box.status
        switch status.code {
        case ZIP_ER_NOZIP:
            return unreadable(fd: fd, size: size, path: path)
        case ZIP_ER_INCONS:
            return .inconsistentArchive(
                path: path,
                reason: "the central directory disagrees with the local headers, its entry count, "
                    + "its own size or the end of the file")
        case ZIP_ER_EXISTS:
            return duplicateName(fd: fd).map { .duplicateEntry(name: $0) }
                ?? .inconsistentArchive(path: path, reason: "two entries have the same name")
        case ZIP_ER_EOF:
            return .truncated(path: path, reason: "the file ends inside a header")
        case ZIP_ER_MULTIDISK:
            return .unsupportedArchive(path: path, reason: "multi-disk (split) archive")
        case ZIP_ER_COMPNOTSUPP, ZIP_ER_ENCRNOTSUPP:
            return .unsupportedArchive(path: path, reason: status.message)
        case ZIP_ER_READ, ZIP_ER_SEEK, ZIP_ER_OPEN, ZIP_ER_MEMORY:
            return .cannotOpen(path: path, reason: status.message)
        default:
            return .inconsistentArchive(path: path, reason: status.message)
        }
    }

    /// What a file that is not a readable zip looks like: a zip cut short (it starts with a local
    /// header but has no end record), one whose end record points at garbage, or no zip at all.
    static func unreadable(fd: Int32, size: Int, path: String) -> ZipError {
        let localHeader: [UInt8] = [0x50, 0x4B, 0x03, 0x04]  // "PK\3\4"
        let endRecord: [UInt8] = [0x50, 0x4B, 0x05, 0x06]  // "PK\5\6"
        let head = readBytes(fd: fd, offset: 0, count: 4)
        // The end record sits in the last 22 + 65535 (comment) bytes.
        let tailCount = min(size, endRecordSize + 65_535)
        let tail = readBytes(fd: fd, offset: size - tailCount, count: tailCount)
        let hasEndRecord = tail.firstRange(of: endRecord) != nil
        if hasEndRecord {
            return .inconsistentArchive(
                path: path,
                reason: "the end record does not lead to a valid central directory, "
                    + "or an entry runs into the central directory")
        }
        if head == localHeader {
            return .truncated(
                path: path, reason: "no end-of-central-directory record (the file was cut short)")
        }
        return .notAZipArchive(path: path)
    }

    /// The first name that occurs twice, found by reopening without consistency checks (libzip
    /// reports duplicates only as "exists", without the name).
    private static func duplicateName(fd: Int32) -> String? {
        guard case .success(let handle) = openHandle(fd: fd, flags: ZIP_RDONLY) else { return nil }
        defer { zip_discard(handle) }
        let count = zip_get_num_entries(handle, 0)
        guard count > 0 else { return nil }
        var seen = Set<[UInt8]>()
        for i in 0..<UInt64(count) {
            guard let cName = zip_get_name(handle, i, ZIP_FL_ENC_RAW) else { continue }
            let raw = LibzipStatus.bytes(of: cName)
            if !seen.insert(raw).inserted {
                return String(validating: raw, as: UTF8.self) ?? ZipEntryName.escapedBytes(raw)
            }
        }
        return nil
    }

    /// Up to `count` bytes at `offset` (fewer if the file is shorter or a read fails).
    private static func readBytes(fd: Int32, offset: Int, count: Int) -> [UInt8] {
        guard count > 0, offset >= 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        return n > 0 ? Array(bytes.prefix(n)) : []
    }
}

/// A `LibzipStatus` as a `Result` failure (which must conform to `Error`).
struct LibzipStatusBox: Error {
    let status: LibzipStatus

    init(_ status: LibzipStatus) { self.status = status }

    init(systemError: Int32) {
        self.status = LibzipStatus(
            code: ZIP_ER_OPEN, system: systemError,
            message: String(cString: strerror(systemError)))
    }
}
