import Foundation
import GraftTestSupport

/// Safetensors framing and headers: lengths that lie, JSON that attacks the parser, entries whose
/// dtype, shape and offsets disagree, and cuts and flips of committed files.
enum SafetensorsCases {
    typealias S = SafetensorsBytes
    static let C = CheckpointCommands.self

    static func one(_ entry: String, data: Int = 16) -> [UInt8] {
        S.file(header: S.header([entry]), data: [UInt8](repeating: 0, count: data))
    }

    /// (name, file, reasons).
    static let files: [(String, @Sendable () -> [UInt8], [String])] = [
        ("empty_file", { [] }, ["unknown format"]),
        ("length_only", { S.littleEndian([UInt64(2)]) }, ["unknown format"]),
        ("length_past_end", { S.file(header: "{}", declaredLength: 1_000) }, ["header", "beyond", "past", "truncated"]),
        ("length_2e63", { S.file(header: "{}", declaredLength: 1 << 63) }, ["header", "limit", "beyond", "past"]),
        ("length_zero", { S.file(header: "{}", declaredLength: 0) }, ["header", "JSON", "empty"]),
        ("header_not_json", { S.file(header: "not json at all") }, ["unknown format"]),
        ("header_array", { S.file(header: "[1,2,3]") }, ["unknown format"]),
        ("header_string", { S.file(header: "\"x\"") }, ["unknown format"]),
        ("header_trailing", { S.file(header: "{} {}") }, ["JSON", "trailing", "after"]),
        ("deep_arrays", { S.file(header: "{\"a\":" + String(repeating: "[", count: 100_000) + "}") }, ["deep", "nest", "depth"]),
        ("deep_objects", { S.file(header: String(repeating: "{\"a\":", count: 50_000)) }, ["deep", "nest", "depth"]),
        ("duplicate_key", {
            S.file(header: S.header([S.entry("w", "F32", [2], 0, 8), S.entry("w", "F32", [2], 8, 16)]), data: [UInt8](repeating: 0, count: 16))
        }, ["has the key 'w' twice"]),
        ("duplicate_metadata", { S.file(header: "{\"__metadata__\":{},\"__metadata__\":{}}") }, ["twice"]),
        ("unknown_dtype", { one(S.entry("w", "F128", [1], 0, 16)) }, ["F128"]),
        ("dtype_number", { one("\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}") }, ["dtype"]),
        ("missing_dtype", { one("\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}") }, ["dtype"]),
        ("missing_offsets", { one("\"w\":{\"dtype\":\"F32\",\"shape\":[1]}") }, ["data_offsets"]),
        ("negative_dim", { one("\"w\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}") }, ["shape", "-4", "negative"]),
        ("float_dim", { one("\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}") }, ["shape", "integer", "1.5"]),
        ("dim_1e400", { one("\"w\":{\"dtype\":\"F32\",\"shape\":[1e400],\"data_offsets\":[0,4]}") }, ["shape", "integer", "1e400", "number"]),
        ("dim_2e64", { one("\"w\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,4]}") },
         ["shape", "integer", "range", "number", "overflow"]),
        ("shape_overflow", { one(S.entry("w", "F32", [1 << 40, 1 << 40], 0, 16)) }, ["overflow", "shape", "1099511627776"]),
        ("zero_dim_huge", { one(S.entry("w", "F32", [0, 1 << 62, 1 << 62], 0, 0), data: 0) }, ["overflow", "shape", "4611686018427387904"]),
        ("rank_100", { one(S.entry("w", "F32", Array(repeating: 1, count: 100), 0, 4), data: 4) }, ["more than 64 dimensions"]),
        ("offsets_reversed", { one(S.entry("w", "F32", [2], 8, 0)) }, ["before it begins"]),
        ("offsets_past_data", { one(S.entry("w", "F32", [4], 0, 16), data: 8) }, ["shorter than its header declares"]),
        ("offsets_2e63", { one(S.entry("w", "F32", [1], 1 << 62, (1 << 62) + 4)) }, ["offset", "beyond", "past", "data"]),
        ("size_mismatch", { one(S.entry("w", "F32", [3], 0, 16)) }, ["12", "16", "size", "bytes"]),
        ("overlap", {
            S.file(header: S.header([S.entry("a", "F32", [2], 0, 8), S.entry("b", "F32", [2], 4, 12)]), data: [UInt8](repeating: 0, count: 16))
        }, ["overlap", "offset"]),
        ("gap", {
            S.file(header: S.header([S.entry("a", "F32", [1], 0, 4), S.entry("b", "F32", [1], 8, 12)]), data: [UInt8](repeating: 0, count: 12))
        }, ["leaving a hole"]),
        ("metadata_not_object", { S.file(header: "{\"__metadata__\":[1]}") }, ["__metadata__"]),
        ("metadata_value_number", { S.file(header: "{\"__metadata__\":{\"a\":1}}") }, ["__metadata__", "string"]),
        ("name_not_utf8", {
            S.file(headerBytes: Array("{\"".utf8) + [0xC3, 0x28] + Array("\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}".utf8),
                   data: [0, 0, 0, 0])
        }, ["UTF-8"]),
        ("string_bad_escape", { S.file(header: "{\"a\\q\":1}") }, ["escape", "JSON"]),
        ("lone_surrogate", { S.file(header: "{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0]) },
         ["surrogate", "escape", "UTF"]),
        ("control_char_in_string", { S.file(header: "{\"a\u{01}\":1}") }, ["control", "JSON"]),
        ("entry_not_object", { S.file(header: "{\"w\":[1,2]}") }, ["object", "w"]),
        ("bool_dtype_bits", { one(S.entry("w", "BOOL", [4], 0, 16)) }, ["16", "size", "bytes"]),
        ("header_100mb_claim", { S.file(header: "{}", declaredLength: 100_000_001) }, ["header", "limit", "beyond", "past", "MB"]),
        ("huge_number_offsets", { one("\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e20]}") }, ["offset", "integer", "number"]),
    ]

    static var cases: [HostileCase] {
        var out: [HostileCase] = []
        for (i, (name, bytes, reasons)) in files.enumerated() {
            out.append(HostileCase("safetensors.\(name)", .bytes("\(name).safetensors", bytes),
                                   i % 2 == 0 ? C.inspect : C.nth(i), reasons))
        }
        for (i, f) in ContainerCases.cutFractions.enumerated() {
            let tag = String(format: "%05d", Int(f * 10_000))
            out.append(HostileCase("cut.safetensors.\(tag)", .bytes("st_cut\(tag).safetensors", {
                Mutate.truncated(try Mutate.fixture("safetensors/torch_all_dtypes.safetensors"), fraction: f)
            }), i % 2 == 0 ? C.inspect : C.convert, ["unknown format", "but only", "shorter than its header declares"]))
        }
        // A byte of the header's JSON flipped: every flip is a refusal naming the file.
        for k in 0..<12 {
            out.append(HostileCase("flip.safetensors.header\(k)", .bytes("st_flip\(k).safetensors", {
                let b = try Mutate.fixture("safetensors/torch_all_dtypes.safetensors")
                return Mutate.flipped(b, at: 8 + 9 + 37 * k, mask: 0x80)
            }), C.inspect, ["header is not UTF-8"]))
        }
        return out
    }
}
