#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors opening or mapping an input file.
public enum FileError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case notRegularFile(path: String)
    case tooLarge(path: String, size: Int, limit: Int)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let p, let r): return "cannot open \(p): \(r)"
        case .notRegularFile(let p): return "\(p) is not a regular file"
        case .tooLarge(let p, let s, let l): return "\(p) is \(s) bytes, more than the limit of \(l)"
        case .io(let p, let r): return "\(p): \(r)"
        }
    }
}

/// A read-only, private memory mapping of a whole regular file.
///
/// Only regular files are accepted: a FIFO, a device such as `/dev/zero` or a directory is refused
/// before anything is read. The mapping lives as long as this object and every `ByteBuffer` window
/// into it.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let base: UnsafeRawPointer
    public let count: Int
    private let mapped: Bool

    nonisolated(unsafe) private static let emptyStorage = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)

    public init(path: String, maxSize: Int = Int.max) throws {
        self.path = path
        // O_NONBLOCK: opening a FIFO must not wait for a writer before fstat refuses it.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError.io(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw FileError.notRegularFile(path: path) }
        let size = Int(st.st_size)
        guard size <= maxSize else { throw FileError.tooLarge(path: path, size: size, limit: maxSize) }
        if size == 0 {
            base = UnsafeRawPointer(Self.emptyStorage)
            count = 0
            mapped = false
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw FileError.io(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
        count = size
        mapped = true
    }

    deinit {
        if mapped { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// A window into the mapping (range-checked).
    public func buffer(offset: Int, count: Int) throws -> ByteBuffer {
        try ByteBuffer(mapping: self, offset: offset, count: count)
    }
}
