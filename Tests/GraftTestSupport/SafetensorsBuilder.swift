/// Hand-built safetensors files for tests: any header text, any data, any declared length, so each
/// hostile case is a readable line instead of a committed binary.
public enum SafetensorsBytes {
    /// The 8-byte little-endian header length (`declaredLength`, or the header's real length), the
    /// header's bytes, then `data`.
    public static func file(headerBytes: [UInt8], data: [UInt8] = [], declaredLength: UInt64? = nil)
        -> [UInt8]
    {
        let length = declaredLength ?? UInt64(headerBytes.count)
        var out: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) }
        out += headerBytes
        out += data
        return out
    }

    /// `file(headerBytes:)` with the header given as text (UTF-8).
    public static func file(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        file(headerBytes: Array(header.utf8), data: data, declaredLength: declaredLength)
    }

    /// One header member: `"name":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}` (name not escaped).
    public static func entry(_ name: String, _ dtype: String, _ shape: [Int], _ begin: Int, _ end: Int)
        -> String
    {
        let dims = shape.map(String.init).joined(separator: ",")
        return "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(dims)],\"data_offsets\":[\(begin),\(end)]}"
    }

    /// A header object of `members` (`entry(…)` strings or raw `"key":value` text).
    public static func header(_ members: [String]) -> String {
        "{" + members.joined(separator: ",") + "}"
    }

    /// Little-endian bytes of fixed-width integers (also float bit patterns).
    public static func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for value in values {
            withUnsafeBytes(of: value.littleEndian) { out += $0 }
        }
        return out
    }

    /// Little-endian bytes of float32 values.
    public static func float32(_ values: [Float]) -> [UInt8] { littleEndian(values.map(\.bitPattern)) }
}
