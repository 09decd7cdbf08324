import GraftCore

extension Safetensors {
    /// The order a writer lays tensors out in: by dtype item size, largest first, and otherwise as
    /// given (a stable sort). With the data section starting on a multiple of 8, every tensor then
    /// starts on a multiple of its own item size, so a mapped file can be read without copies.
    public static func layoutOrder(of dtypes: [DType]) -> [Int] {
        dtypes.indices.sorted { (-dtypes[$0].itemSize, $0) < (-dtypes[$1].itemSize, $1) }
    }

    /// The header bytes for tensors laid out in the given order, and each tensor's data range.
    ///
    /// The header is the 8-byte little-endian length, then compact JSON (`__metadata__` first when
    /// there is metadata, then the tensors in order) padded with spaces to a multiple of 8 bytes,
    /// so the data section starts 8-aligned. The JSON spelling is the one the safetensors reference
    /// writer produces, so the same layout gives the same bytes. Names, ranks and the header size
    /// are checked against `limits`: Graft never writes a file it would refuse to read.
    /// `minimumJSONBytes` (a multiple of 8) pads the JSON further, so a header rewritten after the
    /// data keeps the length of the one reserved before it.
    public static func encodeHeader(
        entries: [(name: String, dtype: DType, shape: [Int])],
        metadata: [(key: String, value: String)],
        limits: SafetensorsLimits = .default,
        minimumJSONBytes: Int = 0
    ) throws -> (header: [UInt8], ranges: [Range<Int>]) {
        try checkNames(entries.map(\.name), metadataKeys: metadata.map(\.key), limits: limits)
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(entries.count)
        var offset = 0
        for entry in entries {
            guard entry.shape.count <= limits.maxRank else {
                throw SafetensorsError.rankTooLarge(tensor: excerpt(entry.name), limit: limits.maxRank)
            }
            guard let size = Checked.byteCount(entry.shape, itemSize: entry.dtype.itemSize),
                  let end = Checked.add(offset, size)
            else { throw SafetensorsError.invalidShape(tensor: excerpt(entry.name), shape: entry.shape) }
            ranges.append(offset..<end)
            offset = end
        }

        var json: [UInt8] = [UInt8(ascii: "{")]
        if !metadata.isEmpty {
            appendJSONString(HeaderCollector.metadataKey, to: &json)
            json += Array(":{".utf8)
            for (i, item) in metadata.enumerated() {
                if i > 0 { json.append(UInt8(ascii: ",")) }
                appendJSONString(item.key, to: &json)
                json.append(UInt8(ascii: ":"))
                appendJSONString(item.value, to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        for (i, entry) in entries.enumerated() {
            if i > 0 || !metadata.isEmpty { json.append(UInt8(ascii: ",")) }
            appendJSONString(entry.name, to: &json)
            json += Array(":{\"dtype\":\"\(entry.dtype.safetensorsName)\",\"shape\":[".utf8)
            json += Array(entry.shape.map(String.init).joined(separator: ",").utf8)
            json += Array("],\"data_offsets\":[\(ranges[i].lowerBound),\(ranges[i].upperBound)]}".utf8)
        }
        json.append(UInt8(ascii: "}"))
        let padding = max((8 - json.count % 8) % 8, minimumJSONBytes - json.count)
        json += [UInt8](repeating: UInt8(ascii: " "), count: padding)
        guard json.count <= limits.maxHeaderBytes else {
            throw SafetensorsError.headerTooLarge(declared: UInt64(json.count), limit: limits.maxHeaderBytes)
        }
        var header: [UInt8] = []
        header.reserveCapacity(lengthFieldSize + json.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { header += $0 }
        header += json
        return (header, ranges)
    }

    /// A whole store in memory: header, then each tensor's bytes in layout order.
    public static func encode(
        tensors: [(name: String, tensor: RawTensor)], metadata: [(key: String, value: String)],
        limits: SafetensorsLimits = .default
    ) throws -> [UInt8] {
        let order = layoutOrder(of: tensors.map(\.tensor.dtype))
        let laidOut = order.map { index in
            let tensor = tensors[index].tensor
            return (name: tensors[index].name, dtype: tensor.dtype, shape: tensor.shape)
        }
        let (header, ranges) = try encodeHeader(entries: laidOut, metadata: metadata, limits: limits)
        var out = header
        out.reserveCapacity(header.count + (ranges.last?.upperBound ?? 0))
        for index in order { out += tensors[index].tensor.data.bytes }
        return out
    }

    /// Names must be unique, not `__metadata__`, within the length limit; metadata keys unique.
    private static func checkNames(
        _ names: [String], metadataKeys: [String], limits: SafetensorsLimits
    ) throws {
        guard names.count <= limits.maxTensors else {
            throw SafetensorsError.tooManyTensors(limit: limits.maxTensors)
        }
        var seen = Set<String>(minimumCapacity: names.count)
        for name in names {
            guard name != HeaderCollector.metadataKey else { throw SafetensorsError.reservedName(name) }
            let length = name.utf8.count
            guard length <= limits.maxNameLength else {
                throw SafetensorsError.nameTooLong(
                    name: excerpt(name), length: length, limit: limits.maxNameLength)
            }
            guard seen.insert(name).inserted else {
                throw SafetensorsError.duplicateTensorName(excerpt(name))
            }
        }
        var seenKeys = Set<String>(minimumCapacity: metadataKeys.count)
        for key in metadataKeys where !seenKeys.insert(key).inserted {
            throw SafetensorsError.duplicateMetadataKey(excerpt(key))
        }
    }

    /// A JSON string the way serde_json writes it: `"` and `\` escaped, the short escapes for
    /// \b \f \n \r \t, other control characters as lower-case `\u00xx`, everything else raw UTF-8.
    private static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x08: out += [0x5C, UInt8(ascii: "b")]
            case 0x0C: out += [0x5C, UInt8(ascii: "f")]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x00..<0x20:
                let digits = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
