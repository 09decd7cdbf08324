#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes an output file so that it appears whole or not at all.
///
/// Bytes go to a temporary file in the destination's folder; `commit()` fsyncs it and renames it
/// over the destination. Dropping the writer without committing, or any
/// error, removes the temporary file, so no half-written output is ever left behind.
public final class AtomicFileWriter {
    public let destination: String
    public let temporaryPath: String
    private var fd: Int32
    private var committed = false
    public private(set) var bytesWritten = 0

    public init(destination: String) throws {
        self.destination = destination
        guard let (fd, path) = Self.createTemporary(beside: destination) else {
            throw FileError.cannotOpen(path: destination, reason: String(cString: strerror(errno)))
        }
        self.fd = fd
        self.temporaryPath = path
    }

    deinit {
        if !committed { abandon() }
    }

    /// Appends bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        let code = Self.writeFully(fd, bytes)
        guard code == 0 else { throw Self.writeError(destination, code) }
        bytesWritten += bytes.count
        startWritebackIfDue()
    }

    /// Writes all of `bytes` to `fd` (in chunks below 1 GiB, retrying on EINTR); 0, or the errno of the
    /// failing write(2). Shared with writers of descriptors that are not an `AtomicFileWriter`.
    public static func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard var p = bytes.baseAddress else { return 0 }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, p, min(left, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            p += n
            left -= n
        }
        return 0
    }

    private var writebackMark = 0

    #if os(Linux)
    /// glibc's sync_file_range(2) (declared only under _GNU_SOURCE, so Swift's Glibc module lacks it).
    @_silgen_name("sync_file_range")
    private static func syncFileRange(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32
    private func graftSyncFileRange(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32 {
        Self.syncFileRange(fd, offset, count, flags)
    }
    #endif

    /// Starts (without waiting for) the disk writes of every 8 MiB written, so the final fsync has
    /// little left to do.
    private func startWritebackIfDue() {
        #if os(Linux)
        let step = 8 << 20
        guard bytesWritten - writebackMark >= step else { return }
        _ = graftSyncFileRange(fd, Int64(writebackMark), Int64(bytesWritten - writebackMark), 2)  // SYNC_FILE_RANGE_WRITE
        writebackMark = bytesWritten
        #endif
    }

    public func write(_ array: [UInt8]) throws {
        try array.withUnsafeBytes { try write($0) }
    }

    /// Overwrites bytes already written, at `offset` from the start (patching a header whose last
    /// field, a checksum, is known only at the end). Does not move the append position.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        guard let p = bytes.baseAddress, bytes.count > 0 else { return }
        guard offset >= 0, offset + bytes.count <= bytesWritten else {
            throw FileError.io(path: destination, reason: "patch outside the written range")
        }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, p + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.writeError(destination, errno)
            }
            done += n
        }
    }

    /// Flushes to disk and atomically moves the file into place.
    public func commit() throws {
        guard !committed else { return }
        guard fsync(fd) == 0 else {
            throw FileError.io(path: destination, reason: "fsync failed: \(String(cString: strerror(errno)))")
        }
        close(fd)
        fd = -1
        defer { TemporaryFiles.release(temporaryPath) }
        guard rename(temporaryPath, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            committed = true
            throw FileError.io(path: destination, reason: "rename failed: \(reason)")
        }
        // No fsync of the folder: the data is on disk before the rename, so whether or not a crash
        // keeps the rename, the destination is the old file or the whole new one — never a partial one.
        committed = true
    }

    /// EFAULT from write(2) means the bytes came from a mapping that no longer backs them: an input
    /// truncated by another process while it was mapped (the same event that raises SIGBUS on a load).
    static func writeError(_ destination: String, _ code: Int32) -> FileError {
        if code == EFAULT {
            return .io(path: destination, reason: "an input file was truncated or changed while it was being read")
        }
        return .io(path: destination, reason: "write failed: \(String(cString: strerror(code)))")
    }

    /// Discards the temporary file.
    public func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        if !committed {
            unlink(temporaryPath)
            TemporaryFiles.release(temporaryPath)
        }
        committed = true
    }

    /// A new empty `.<name>.graft-XXXXXX` (mode 0644) in `destination`'s folder, so the final rename
    /// stays on one file system, open for writing; nil with `errno` set when it cannot be made. It is
    /// registered with `TemporaryFiles` (removed on SIGINT/SIGTERM/SIGBUS) until the caller releases it.
    public static func createTemporary(beside destination: String) -> (fd: Int32, path: String)? {
        let base = destination.split(separator: "/").last.map(String.init) ?? "output"
        var template = Array("\(directory(of: destination))/.\(base).graft-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return nil }
        _ = fchmod(fd, 0o644)
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        TemporaryFiles.register(path)
        return (fd, path)
    }

    /// Removes temporary files a killed writer of `destination` left behind (SIGKILL runs no handler):
    /// `.<name>.graft-` plus mkstemp's six characters, regular files only. For a caller that knows no
    /// other writer of `destination` runs (a resumed fine-tune). Returns how many it removed.
    @discardableResult
    public static func removeStaleTemporaries(of destination: String) -> Int {
        let folder = directory(of: destination)
        let prefix = "." + (destination.split(separator: "/").last.map(String.init) ?? "output") + ".graft-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(prefix) && name.utf8.count == prefix.utf8.count + 6 {
            var info = stat()
            let path = folder + "/" + name
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if unlink(path) == 0 { removed += 1 }
        }
        return removed
    }

    /// The folder part of `path` ("." for a bare name, "/" for a file at the root).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }
}
