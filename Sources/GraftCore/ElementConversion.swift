/// Element-wise conversions between the stored dtypes and `Float`, and byte-order swaps.
///
/// Sources may be unaligned (a mapped record at any offset), so every read uses `loadUnaligned`.
public enum ElementConversion {
    /// Converts `count` elements of `dtype` at `src` to float32 at `dst`.
    /// f16 and bf16 widen exactly; f64 rounds to nearest; integers convert as `Float(x)`.
    public static func toFloat32(
        _ dtype: DType, from src: UnsafeRawBufferPointer, into dst: UnsafeMutablePointer<Float>, count: Int
    ) {
        precondition(src.count >= count * dtype.itemSize)
        switch dtype {
        case .float32:
            if count > 0 { UnsafeMutableRawPointer(dst).copyMemory(from: src.baseAddress!, byteCount: count * 4) }
        case .float16:
            for i in 0..<count {
                dst[i] = float(fromHalfBits: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
        case .bfloat16:
            for i in 0..<count {
                dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            }
        case .float64:
            for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        case .int64:
            for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
        case .int32:
            for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
        case .int16:
            for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
        case .int8:
            for i in 0..<count { dst[i] = Float(Int8(bitPattern: src[i])) }
        case .uint8:
            for i in 0..<count { dst[i] = Float(src[i]) }
        case .bool:
            for i in 0..<count { dst[i] = src[i] != 0 ? 1 : 0 }
        }
    }

    /// IEEE binary16 bits → Float, exact for every value including subnormals, ±inf and NaN.
    @inlinable
    public static func float(fromHalfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1F)
        let mant = UInt32(h & 0x3FF)
        if exp == 0 {
            // Zero or subnormal: mant × 2^-24, exactly representable in binary32.
            let magnitude = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
    }

    /// Reverses the byte order of each `itemSize`-byte element in place (big-endian files).
    public static func swapByteOrder(_ p: UnsafeMutableRawBufferPointer, itemSize: Int) {
        guard itemSize > 1 else { return }
        var i = 0
        while i + itemSize <= p.count {
            var a = i, b = i + itemSize - 1
            while a < b {
                p.swapAt(a, b)
                a += 1; b -= 1
            }
            i += itemSize
        }
    }
}
