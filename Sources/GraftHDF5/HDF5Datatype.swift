@preconcurrency import CHDF5
import GraftCore

/// What a dataset's elements are, as far as Graft is concerned.
public enum HDF5ElementType: Sendable, Equatable, CustomStringConvertible {
    /// Numbers Graft reads: IEEE float16/32/64, bfloat16, int8/16/32/64 or uint8, either byte order.
    case number(DType, bigEndian: Bool)
    /// Anything else; the text says what (`compound`, `variable-length string`, `enum`, …).
    case unsupported(String)

    public var description: String {
        switch self {
        case .number(let dtype, let bigEndian): return bigEndian ? "\(dtype) (big-endian)" : "\(dtype)"
        case .unsupported(let text): return text
        }
    }
}

/// Classification and description of libhdf5 datatypes.
enum HDF5Datatype {
    /// The bit layout of an IEEE-style float: sign position, exponent position and size, mantissa
    /// position and size, exponent bias. A float type is accepted only if it matches one of these
    /// exactly and uses every bit of its size, so an exotic layout is never misread as float32.
    private static let floatLayouts: [(DType, size: Int, fields: [Int], bias: Int)] = [
        (.float16, 2, [15, 10, 5, 0, 10], 15),
        (.bfloat16, 2, [15, 7, 8, 0, 7], 127),
        (.float32, 4, [31, 23, 8, 0, 23], 127),
        (.float64, 8, [63, 52, 11, 0, 52], 1023),
    ]

    /// The Graft element type of `type`. `dtypeAttribute` is the dataset's `dtype` attribute,
    /// which Keras 3 sets to `bfloat16` on the 2-byte opaque datasets h5py writes for bf16 arrays.
    static func classify(_ type: hid_t, dtypeAttribute: String?) -> HDF5ElementType {
        let size = H5Tget_size(type)
        let (bits, overflow) = size.multipliedReportingOverflow(by: 8)
        guard !overflow else { return .unsupported(describe(type)) }
        let bigEndian = H5Tget_order(type) == H5T_ORDER_BE
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            guard H5Tget_precision(type) == bits, H5Tget_offset(type) == 0,
                H5Tget_norm(type) == H5T_NORM_IMPLIED
            else { return .unsupported(describe(type)) }
            var spos = 0
            var epos = 0
            var esize = 0
            var mpos = 0
            var msize = 0
            guard H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) >= 0 else {
                return .unsupported(describe(type))
            }
            let fields = [spos, epos, esize, mpos, msize]
            let bias = H5Tget_ebias(type)
            for layout in floatLayouts
            where layout.size == size && layout.fields == fields && layout.bias == bias {
                return .number(layout.0, bigEndian: bigEndian)
            }
            return .unsupported(describe(type))
        case H5T_INTEGER:
            guard H5Tget_precision(type) == bits, H5Tget_offset(type) == 0 else {
                return .unsupported(describe(type))
            }
            let signed = H5Tget_sign(type) == H5T_SGN_2
            switch (size, signed) {
            case (1, true): return .number(.int8, bigEndian: false)
            case (1, false): return .number(.uint8, bigEndian: false)
            case (2, true): return .number(.int16, bigEndian: bigEndian)
            case (4, true): return .number(.int32, bigEndian: bigEndian)
            case (8, true): return .number(.int64, bigEndian: bigEndian)
            default: return .unsupported(describe(type))
            }
        case H5T_OPAQUE:
            if size == 2, dtypeAttribute == "bfloat16" { return .number(.bfloat16, bigEndian: false) }
            return .unsupported(describe(type))
        default:
            return .unsupported(describe(type))
        }
    }

    /// A short human description: `32-bit little-endian float`, `compound`, `variable-length string`.
    static func describe(_ type: hid_t) -> String {
        let bits = H5Tget_size(type) &* 8  // a datatype's size field is 32 bits: no wrap in practice
        let order = H5Tget_order(type) == H5T_ORDER_BE ? "big-endian" : "little-endian"
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            return
                "\(bits)-bit \(order) float (precision \(H5Tget_precision(type)), bias \(H5Tget_ebias(type)))"
        case H5T_INTEGER:
            let sign = H5Tget_sign(type) == H5T_SGN_2 ? "signed" : "unsigned"
            return "\(bits)-bit \(order) \(sign) integer"
        case H5T_STRING:
            return H5Tis_variable_str(type) > 0
                ? "variable-length string" : "fixed-length string (\(bits / 8) bytes)"
        case H5T_COMPOUND: return "compound"
        case H5T_ENUM: return "enum"
        case H5T_VLEN: return "variable-length sequence"
        case H5T_OPAQUE: return "opaque (\(bits / 8) bytes)"
        case H5T_ARRAY: return "array type"
        case H5T_REFERENCE: return "reference"
        case H5T_BITFIELD: return "bitfield"
        case H5T_TIME: return "time"
        default: return "unknown type class"
        }
    }
}
