/// Errors of the bounds-checked byte cursor.
public enum ByteReaderError: Error, CustomStringConvertible, Equatable {
    /// A read of `length` bytes at `offset` runs past the `available` bytes.
    case outOfRange(offset: Int, length: Int, available: Int)

    public var description: String {
        switch self {
        case .outOfRange(let o, let l, let a):
            return "truncated: \(l) bytes needed at offset \(o), but only \(a) bytes in total"
        }
    }
}

/// A forward cursor over untrusted bytes. Every read is bounds-checked and unaligned-safe; nothing
/// here can trap on a hostile length or offset.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var offset: Int

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }

    /// Checks that `n` bytes are available and returns their start offset, advancing past them.
    @inline(__always)
    private mutating func claim(_ n: Int) throws -> Int {
        guard n >= 0, n <= remaining else {
            throw ByteReaderError.outOfRange(offset: offset, length: n, available: bytes.count)
        }
        let start = offset
        offset += n
        return start
    }

    public mutating func skip(_ n: Int) throws { _ = try claim(n) }

    public mutating func u8() throws -> UInt8 { bytes[try claim(1)] }

    public mutating func u16LE() throws -> UInt16 {
        UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: try claim(2), as: UInt16.self))
    }

    public mutating func u32LE() throws -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: try claim(4), as: UInt32.self))
    }

    public mutating func i32LE() throws -> Int32 { Int32(bitPattern: try u32LE()) }

    public mutating func u64LE() throws -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: try claim(8), as: UInt64.self))
    }

    /// A big-endian IEEE-754 double (pickle's BINFLOAT).
    public mutating func f64BE() throws -> Double {
        Double(bitPattern: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: try claim(8), as: UInt64.self)))
    }

    /// The next `n` bytes, as a view into the underlying buffer (no copy).
    public mutating func slice(_ n: Int) throws -> UnsafeRawBufferPointer {
        let start = try claim(n)
        return UnsafeRawBufferPointer(rebasing: bytes[start..<start + n])
    }

    /// The bytes up to (not including) the next `terminator`, which is consumed.
    /// At most `maxLength` bytes are scanned.
    public mutating func line(terminator: UInt8 = 0x0A, maxLength: Int) throws -> UnsafeRawBufferPointer {
        let limit = min(bytes.count, offset &+ maxLength &+ 1)
        var i = offset
        while i < limit {
            if bytes[i] == terminator {
                let start = offset
                offset = i + 1
                return UnsafeRawBufferPointer(rebasing: bytes[start..<i])
            }
            i += 1
        }
        throw ByteReaderError.outOfRange(offset: offset, length: limit - offset + 1, available: bytes.count)
    }
}
