#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Immutable bytes with a stable address: an owned, 64-byte-aligned allocation, or a window into a
/// memory-mapped file that stays mapped while any window into it is alive.
///
/// Tensors read from files are `ByteBuffer`s, so a mapped safetensors store hands out views without
/// copying, and an imported `.pth` storage is read once into an owned buffer.
public final class ByteBuffer: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let count: Int
    private let owner: Owner

    private enum Owner {
        case allocation(UnsafeMutableRawPointer)
        case mapping(MappedFile)
        case none
    }

    /// An owned copy of `bytes`.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(uninitializedCount: bytes.count)
        if let src = bytes.baseAddress, bytes.count > 0 {
            mutableBase.copyMemory(from: src, byteCount: bytes.count)
        }
    }

    /// An owned buffer whose contents the caller writes through `mutableBase` before sharing it.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0)
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        self.base = UnsafeRawPointer(p)
        self.count = count
        self.owner = .allocation(p)
    }

    /// A window `[offset, offset+count)` into a mapped file. The range is checked.
    public init(mapping file: MappedFile, offset: Int, count: Int) throws {
        guard offset >= 0, count >= 0, let end = Checked.add(offset, count), end <= file.count else {
            throw ByteReaderError.outOfRange(offset: offset, length: count, available: file.count)
        }
        self.base = file.base + offset
        self.count = count
        self.owner = .mapping(file)
    }

    deinit {
        if case .allocation(let p) = owner { p.deallocate() }
    }

    /// Whether the bytes are a window into a mapped file (read-only).
    public var isMapped: Bool {
        if case .mapping = owner { return true }
        return false
    }

    /// For a mapped window: tells the kernel the pages are no longer needed, so a long streaming pass
    /// (convert) does not accumulate the whole file in its resident set. The bytes stay readable (they
    /// are read from the file again if touched). Does nothing for owned buffers.
    public func releaseResidentPages() {
        guard case .mapping = owner, count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + page - 1) / page * page
        let end = (Int(bitPattern: base) + count) / page * page
        if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED) }
    }

    /// Write access for the producer of an owned buffer. Never write into a mapped window.
    public var mutableBase: UnsafeMutableRawPointer { UnsafeMutableRawPointer(mutating: base) }

    /// The bytes, valid only while this buffer is alive. Swift may release a buffer right after its
    /// last use, so pass `bytes` on only while something else keeps the buffer (a stored property);
    /// otherwise use `withUnsafeBytes`, which keeps it alive for the closure.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Whether `base` is a multiple of `alignment` (a typed load needs its element alignment).
    public func isAligned(to alignment: Int) -> Bool { Int(bitPattern: base) % alignment == 0 }

    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(UnsafeRawBufferPointer(start: base, count: count)) }
    }
}

extension ByteBuffer {
    /// An owned copy of a byte array (tests and small records).
    public convenience init(_ array: [UInt8]) {
        self.init(uninitializedCount: array.count)
        array.withUnsafeBytes { src in
            if let s = src.baseAddress, src.count > 0 { mutableBase.copyMemory(from: s, byteCount: src.count) }
        }
    }

    /// The bytes as an array (tests and small records).
    public var array: [UInt8] { Array(bytes) }
}
