import Foundation

/// NumPy `.npy` files of float32 in C order: the exchange format for reference inputs and logits.
///
/// Reads format versions 1.0, 2.0 and 3.0 (the header length field is 2 bytes in v1, 4 in v2/v3);
/// writes v1 when the header fits, else v2. Only little-endian float32 (`<f4`) in C order is
/// accepted; anything else is a clear error rather than a silent conversion.
public struct NpyArray: Equatable, Sendable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(Checked.elementCount(shape) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }
}

public enum NpyError: Error, CustomStringConvertible, Equatable {
    case badMagic
    case unsupportedVersion(UInt8, UInt8)
    case malformedHeader(String)
    case unsupportedDType(String)
    case fortranOrder
    case sizeMismatch(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .badMagic: return "not a .npy file (bad magic)"
        case .unsupportedVersion(let a, let b): return "unsupported .npy version \(a).\(b)"
        case .malformedHeader(let why): return "malformed .npy header: \(why)"
        case .unsupportedDType(let d): return "unsupported .npy dtype '\(d)' (expected little-endian float32 '<f4')"
        case .fortranOrder: return "Fortran-ordered .npy arrays are not supported"
        case .sizeMismatch(let e, let a): return ".npy data is \(a) bytes, its header declares \(e)"
        }
    }
}

extension NpyArray {
    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// Parses `.npy` bytes.
    public init(npyBytes bytes: UnsafeRawBufferPointer) throws {
        var r = ByteReader(bytes)
        guard bytes.count >= 10, Array(try r.slice(6)) == Self.magic else { throw NpyError.badMagic }
        let major = try r.u8(), minor = try r.u8()
        let headerLength: Int
        switch major {
        case 1: headerLength = Int(try r.u16LE())
        case 2, 3: headerLength = Int(try r.u32LE())
        default: throw NpyError.unsupportedVersion(major, minor)
        }
        guard let headerBytes = try? r.slice(headerLength),
              let header = String(validating: headerBytes, as: Unicode.UTF8.self)
        else { throw NpyError.malformedHeader("header runs past the end or is not text") }
        let (descr, fortran, shape) = try Self.parseHeader(header)
        guard descr == "<f4" || descr == "|f4" else { throw NpyError.unsupportedDType(descr) }
        if fortran { throw NpyError.fortranOrder }
        guard let count = Checked.elementCount(shape), let need = Checked.mul(count, 4) else {
            throw NpyError.malformedHeader("shape \(shape) overflows")
        }
        guard r.remaining == need else { throw NpyError.sizeMismatch(expected: need, actual: r.remaining) }
        let data = try r.slice(need)
        self.shape = shape
        self.values = (0..<count).map { data.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
    }

    /// Reads a `.npy` file.
    public init(contentsOfFile path: String) throws {
        let file = try MappedFile(path: path)
        try self.init(npyBytes: file.bytes)
    }

    /// The `.npy` encoding of this array.
    public func npyBytes() -> [UInt8] {
        let dims = shape.map(String.init).joined(separator: ", ")
        let shapeText = shape.count == 1 ? "(\(dims),)" : "(\(dims))"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad with spaces so the data starts on a 64-byte boundary, ending in a newline.
        func paddedTotal(prefix: Int) -> Int { (prefix + header.utf8.count + 1 + 63) / 64 * 64 }
        let v1 = paddedTotal(prefix: 10) - 10 <= 65535
        let prefix = v1 ? 10 : 12
        let total = paddedTotal(prefix: prefix)
        header += String(repeating: " ", count: total - prefix - header.utf8.count - 1) + "\n"
        var out = Self.magic + [v1 ? 1 : 2, 0]
        let n = header.utf8.count
        if v1 {
            out += [UInt8(n & 0xFF), UInt8(n >> 8)]
        } else {
            out += [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
        }
        out += Array(header.utf8)
        let start = out.count
        out += [UInt8](repeating: 0, count: values.count * 4)
        out.withUnsafeMutableBytes { dst in
            for (i, v) in values.enumerated() {
                dst.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: start + 4 * i, as: UInt32.self)
            }
        }
        return out
    }

    /// Writes the array atomically to `path`.
    public func write(toFile path: String) throws {
        let w = try AtomicFileWriter(destination: path)
        try w.write(npyBytes())
        try w.commit()
    }

    /// Parses the Python-literal header dict: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
    static func parseHeader(_ text: String) throws -> (descr: String, fortran: Bool, shape: [Int]) {
        func value(after key: String) throws -> Substring {
            guard let k = text.range(of: "'\(key)'") ?? text.range(of: "\"\(key)\"") else {
                throw NpyError.malformedHeader("no '\(key)' entry")
            }
            guard let colon = text[k.upperBound...].firstIndex(of: ":") else {
                throw NpyError.malformedHeader("no value for '\(key)'")
            }
            return text[text.index(after: colon)...].drop(while: { $0 == " " })
        }
        let d = try value(after: "descr")
        guard let q = d.first, q == "'" || q == "\"", let end = d.dropFirst().firstIndex(of: q) else {
            throw NpyError.malformedHeader("descr is not a string")
        }
        let descr = String(d[d.index(after: d.startIndex)..<end])
        let f = try value(after: "fortran_order")
        let fortran: Bool
        if f.hasPrefix("False") { fortran = false } else if f.hasPrefix("True") { fortran = true } else {
            throw NpyError.malformedHeader("fortran_order is not a bool")
        }
        let s = try value(after: "shape")
        guard s.first == "(", let close = s.firstIndex(of: ")") else {
            throw NpyError.malformedHeader("shape is not a tuple")
        }
        var shape: [Int] = []
        for part in s[s.index(after: s.startIndex)..<close].split(separator: ",") {
            let t = part.trimmingCharacters(in: " ")
            if t.isEmpty { continue }
            guard let n = Int(t), n >= 0 else { throw NpyError.malformedHeader("bad dimension '\(t)'") }
            shape.append(n)
        }
        return (descr, fortran, shape)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return s
    }
}
