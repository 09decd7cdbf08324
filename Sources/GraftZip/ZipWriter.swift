import CZip
import GraftCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a zip archive the way `torch.save` lays one out: every entry STORED, in the order added,
/// its data 64-byte aligned by an `FB` padding field in the local header, so the output can be
/// memory-mapped (`torch.load(mmap=True)`) and re-read by Graft without a copy.
///
/// Output bytes are deterministic: a fixed modification time (1980-01-01 00:00, the zip epoch)
/// and no host-dependent fields. Nothing is written until `commit()`, which lets libzip write a
/// temporary file next to the destination, fsyncs it and renames it into place; on any error the
/// temporary file is removed and the destination is untouched.
public final class ZipWriter {
    /// Where `commit()` puts the archive.
    public let destination: String
    public let limits: ZipLimits
    /// Data offsets are multiples of this (torch's `kFieldAlignment`).
    public static let alignment = 64

    private var pending: [(name: String, data: ByteBuffer)] = []
    private var names = Set<String>()
    private var finished = false

    /// Prepares a writer for `destination`; its folder must exist.
    public init(destination: String, limits: ZipLimits = .default) throws {
        self.destination = destination
        self.limits = limits
        var st = stat()
        guard stat(AtomicFileWriter.directory(of: destination), &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ZipError.writeFailed(path: destination, reason: "its folder does not exist")
        }
    }

    /// Queues a STORED entry. `data` is kept alive (not copied) until `commit()`.
    /// - Throws: `invalidEntryName`, `duplicateEntry`, `tooManyEntries`, or `writerFinished`.
    public func add(name: String, data: ByteBuffer) throws {
        guard !finished else { throw ZipError.writerFinished(path: destination) }
        // A zip name length field holds at most 65,535 bytes (libzip would cut a longer name short).
        try ZipEntryName.validate(name, maxLength: min(limits.maxNameLength, Int(UInt16.max)))
        guard !names.contains(name) else { throw ZipError.duplicateEntry(name: name) }
        guard pending.count < limits.maxEntries else {
            throw ZipError.tooManyEntries(
                path: destination, count: pending.count + 1, limit: limits.maxEntries)
        }
        names.insert(name)
        pending.append((name, data))
    }

    /// Writes the archive and atomically moves it to `destination`. The writer is finished
    /// afterwards, whether or not this succeeds.
    public func commit() throws {
        guard !finished else { throw ZipError.writerFinished(path: destination) }
        finished = true
        defer { pending = [] }
        guard !pending.isEmpty else { throw ZipError.emptyArchive(path: destination) }

        let temporary = try reserveTemporaryFile()
        var placed = false
        defer {
            if !placed { unlink(temporary) }
            TemporaryFiles.release(temporary)
        }
        try writeArchive(to: temporary)
        try synchronize(file: temporary)
        guard rename(temporary, destination) == 0 else {
            throw ZipError.writeFailed(
                path: destination, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
        placed = true
        let folder = open(AtomicFileWriter.directory(of: destination), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            _ = fsync(folder)
            close(folder)
        }
    }

    // MARK: - Steps of commit

    /// An empty temporary file beside the destination (`AtomicFileWriter`'s), mode 0644; libzip
    /// keeps that mode when it replaces the file.
    private func reserveTemporaryFile() throws -> String {
        guard let (fd, path) = AtomicFileWriter.createTemporary(beside: destination) else {
            throw ZipError.writeFailed(
                path: destination,
                reason: "cannot create a temporary file: \(String(cString: strerror(errno)))")
        }
        close(fd)
        return path
    }

    /// Lets libzip write every pending entry to `path` (libzip writes `path.XXXXXX` and renames it
    /// over `path` in `zip_close`, or removes it on failure).
    private func writeArchive(to path: String) throws {
        var code: Int32 = 0
        guard let archive = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code) else {
            throw ZipError.writeFailed(path: destination, reason: LibzipStatus(code: code).message)
        }
        var open = true
        defer { if open { zip_discard(archive) } }
        var offset = 0  // where the next local header starts
        for (name, data) in pending {
            offset = try addEntry(name: name, data: data, at: offset, to: archive)
        }
        // zip_close writes everything to a temporary file libzip names itself: a Ctrl-C waits for it.
        if FatalSignals.holdingSignals({ zip_close(archive) }) != 0 {
            throw ZipError.writeFailed(path: destination, reason: LibzipStatus.of(archive: archive).message)
        }
        open = false  // zip_close freed the handle
    }

    /// Adds one stored entry whose local header starts at `offset`; returns where the next starts.
    private func addEntry(name: String, data: ByteBuffer, at offset: Int, to archive: OpaquePointer) throws
        -> Int
    {
        func failure() -> ZipError {
            ZipError.writeFailed(
                path: destination,
                reason: "entry \(ZipError.display(name)): \(LibzipStatus.of(archive: archive).message)")
        }
        guard let source = zip_source_buffer(archive, data.base, UInt64(data.count), 0) else {
            throw failure()
        }
        let added = zip_file_add(archive, name, source, ZIP_FL_ENC_UTF_8)
        guard added >= 0 else {
            zip_source_free(source)
            throw failure()
        }
        let index = UInt64(added)
        let padding = ZipLayout.padding(localHeaderAt: offset, nameLength: name.utf8.count, size: data.count)
        let filler = [UInt8](repeating: UInt8(ascii: "Z"), count: padding)
        guard zip_set_file_compression(archive, index, ZIP_CM_STORE, 0) == 0,
            zip_file_set_dostime(archive, index, ZipLayout.dosTime, ZipLayout.dosDate, 0) == 0,
            zip_file_extra_field_set(
                archive, index, ZipLayout.paddingFieldID, UInt16(ZIP_EXTRA_FIELD_NEW), filler,
                UInt16(padding),
                ZIP_FL_LOCAL) == 0
        else { throw failure() }
        guard
            let next = ZipLayout.nextOffset(
                localHeaderAt: offset, nameLength: name.utf8.count, size: data.count)
        else { throw ZipError.writeFailed(path: destination, reason: "the archive would exceed 2^63 bytes") }
        return next
    }

    private func synchronize(file path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ZipError.writeFailed(
                path: destination, reason: "cannot reopen to sync: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw ZipError.writeFailed(
                path: destination, reason: "fsync failed: \(String(cString: strerror(errno)))")
        }
    }
}
