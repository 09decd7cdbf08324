import GraftCore

/// Pass 2 of header parsing: turns the members of the header object into entries and metadata,
/// checking each tensor against the format's rules as it is read, then checks that the tensors
/// cover the data section exactly.
struct HeaderCollector {
    static let metadataKey = "__metadata__"

    let limits: SafetensorsLimits
    /// Tensors in header order (not yet sorted by offset).
    private(set) var entries: [SafetensorsEntry] = []
    private(set) var metadata: [(key: String, value: String)] = []

    init(limits: SafetensorsLimits) {
        self.limits = limits
    }

    /// Reads one member of the header object; the reader is positioned at its value.
    mutating func readMember(_ reader: inout JSONReader, key: String) throws {
        if key == Self.metadataKey {
            try readMetadata(&reader)
            return
        }
        guard entries.count < limits.maxTensors else {
            throw SafetensorsError.tooManyTensors(limit: limits.maxTensors)
        }
        let length = key.utf8.count
        guard length <= limits.maxNameLength else {
            throw SafetensorsError.nameTooLong(
                name: excerpt(key), length: length, limit: limits.maxNameLength)
        }
        entries.append(try readEntry(&reader, name: key))
    }

    private mutating func readMetadata(_ reader: inout JSONReader) throws {
        let kind = try reader.peekKind()
        guard kind == .object else {
            throw SafetensorsError.invalidMetadata(
                key: nil, reason: "is \(kind.phrase), not an object of strings")
        }
        var collected: [(key: String, value: String)] = []
        try reader.readObject(depth: 2, context: Self.metadataKey) { reader, key in
            let kind = try reader.peekKind()
            guard kind == .string else {
                throw SafetensorsError.invalidMetadata(
                    key: excerpt(key), reason: "is \(kind.phrase), not a string")
            }
            collected.append((key, try reader.readString()))
        }
        metadata = collected
    }

    private func readEntry(_ reader: inout JSONReader, name: String) throws -> SafetensorsEntry {
        let tensor = excerpt(name)
        let kind = try reader.peekKind()
        guard kind == .object else {
            throw SafetensorsError.invalidEntry(
                tensor: tensor, reason: "is \(kind.phrase), not an object with dtype, shape and data_offsets")
        }
        var dtypeName: String?
        var dims: [JSONNumber]?
        var offsets: [JSONNumber]?
        let maxRank = limits.maxRank
        try reader.readObject(depth: 2, context: name) { reader, field in
            switch field {
            case "dtype":
                let kind = try reader.peekKind()
                guard kind == .string else {
                    throw SafetensorsError.invalidField(
                        tensor: tensor, field: field, reason: "is \(kind.phrase), not a string")
                }
                dtypeName = try reader.readString()
            case "shape":
                dims = try Self.readIntegers(
                    &reader, tensor: tensor, field: field, maxCount: maxRank,
                    tooMany: .rankTooLarge(tensor: tensor, limit: maxRank))
            case "data_offsets":
                offsets = try Self.readIntegers(
                    &reader, tensor: tensor, field: field, maxCount: 2,
                    tooMany: .invalidField(
                        tensor: tensor, field: field,
                        reason: "has more than 2 elements, expected [begin, end]"))
            default:
                throw SafetensorsError.unknownField(tensor: tensor, field: excerpt(field))
            }
        }
        guard let dtypeName else { throw SafetensorsError.missingField(tensor: tensor, field: "dtype") }
        guard let dims else { throw SafetensorsError.missingField(tensor: tensor, field: "shape") }
        guard let offsets else { throw SafetensorsError.missingField(tensor: tensor, field: "data_offsets") }
        guard let dtype = DType(safetensorsName: dtypeName) else {
            throw SafetensorsError.unsupportedDType(tensor: tensor, dtype: excerpt(dtypeName))
        }
        let shape = try Self.checkedShape(dims, tensor: tensor)
        guard let byteCount = Checked.byteCount(shape, itemSize: dtype.itemSize) else {
            throw SafetensorsError.shapeOverflow(tensor: tensor, shape: Self.spelling(of: dims))
        }
        let range = try Self.checkedRange(offsets, tensor: tensor)
        guard range.count == byteCount else {
            throw SafetensorsError.sizeMismatch(
                tensor: tensor, declaredBytes: range.count, expectedBytes: byteCount)
        }
        return SafetensorsEntry(name: name, dtype: dtype, shape: shape, dataRange: range)
    }

    /// An array of numbers, refused with `tooMany` as soon as it grows past `maxCount`.
    private static func readIntegers(
        _ reader: inout JSONReader, tensor: String, field: String, maxCount: Int, tooMany: SafetensorsError
    ) throws -> [JSONNumber] {
        let kind = try reader.peekKind()
        guard kind == .array else {
            throw SafetensorsError.invalidField(
                tensor: tensor, field: field, reason: "is \(kind.phrase), not an array of integers")
        }
        var values: [JSONNumber] = []
        try reader.readArray(depth: 3) { reader, index in
            guard index < maxCount else { throw tooMany }
            let kind = try reader.peekKind()
            guard kind == .number else {
                throw SafetensorsError.invalidField(
                    tensor: tensor, field: field,
                    reason: "element \(index) is \(kind.phrase), not an integer")
            }
            values.append(try reader.readNumber())
        }
        return values
    }

    private static func checkedShape(_ dims: [JSONNumber], tensor: String) throws -> [Int] {
        var shape: [Int] = []
        shape.reserveCapacity(dims.count)
        for (i, dim) in dims.enumerated() {
            switch dim {
            case .integer(let value) where value >= 0:
                shape.append(value)
            case .integer(let value):
                throw SafetensorsError.invalidField(
                    tensor: tensor, field: "shape", reason: "dimension \(i) is \(value), which is negative")
            case .bigInteger(negative: true, let text):
                throw SafetensorsError.invalidField(
                    tensor: tensor, field: "shape", reason: "dimension \(i) is \(text), which is negative")
            case .bigInteger(negative: false, _):
                throw SafetensorsError.shapeOverflow(tensor: tensor, shape: spelling(of: dims))
            case .fraction(let text):
                throw SafetensorsError.invalidField(
                    tensor: tensor, field: "shape", reason: "dimension \(i) is \(text), not an integer")
            }
        }
        return shape
    }

    private static func checkedRange(_ offsets: [JSONNumber], tensor: String) throws -> Range<Int> {
        guard offsets.count == 2 else {
            throw SafetensorsError.invalidField(
                tensor: tensor, field: "data_offsets",
                reason: "has \(offsets.count) elements, expected [begin, end]")
        }
        func offset(_ number: JSONNumber, _ which: String) throws -> Int {
            switch number {
            case .integer(let value) where value >= 0:
                return value
            case .integer(let value):
                throw SafetensorsError.invalidOffsets(
                    tensor: tensor, reason: "its \(which) offset \(value) is negative")
            case .bigInteger(negative: true, let text):
                throw SafetensorsError.invalidOffsets(
                    tensor: tensor, reason: "its \(which) offset \(text) is negative")
            case .bigInteger(negative: false, let text):
                throw SafetensorsError.invalidOffsets(
                    tensor: tensor, reason: "its \(which) offset \(text) does not fit in 64 bits")
            case .fraction(let text):
                throw SafetensorsError.invalidField(
                    tensor: tensor, field: "data_offsets",
                    reason: "\(which) offset \(text) is not an integer")
            }
        }
        let begin = try offset(offsets[0], "begin")
        let end = try offset(offsets[1], "end")
        guard end >= begin else {
            throw SafetensorsError.invalidOffsets(
                tensor: tensor, reason: "its data ends at \(end), before it begins at \(begin)")
        }
        return begin..<end
    }

    /// `[2, 18446744073709551614]`, as the file spells it.
    private static func spelling(of dims: [JSONNumber]) -> String {
        let parts = dims.map { dim -> String in
            switch dim {
            case .integer(let value): return String(value)
            case .bigInteger(_, let text), .fraction(let text): return text
            }
        }
        return "[" + parts.joined(separator: ", ") + "]"
    }

    /// The entries sorted by data offset, after checking that they tile the data section: the
    /// first starts at 0 and each starts exactly where the previous one ends. This is the rule
    /// that rules out holes (hidden polyglot payloads) and overlaps (one byte range aliased by
    /// many tensors, the safetensors "JSON attack").
    func entriesInFileOrder() throws -> [SafetensorsEntry] {
        // Ties (empty tensors at one offset) keep header order, so the result is deterministic.
        let order = entries.indices.sorted {
            (entries[$0].dataRange.lowerBound, entries[$0].dataRange.upperBound, $0)
                < (entries[$1].dataRange.lowerBound, entries[$1].dataRange.upperBound, $1)
        }
        var sorted: [SafetensorsEntry] = []
        sorted.reserveCapacity(entries.count)
        var expectedBegin = 0
        for index in order {
            let entry = entries[index]
            let begin = entry.dataRange.lowerBound
            let tensor = excerpt(entry.name)
            if let previous = sorted.last {
                if begin > expectedBegin {
                    throw SafetensorsError.invalidOffsets(
                        tensor: tensor,
                        reason: "its data begins at byte \(begin), leaving a hole after "
                            + "\(quoted(previous.name)), which ends at \(expectedBegin)")
                }
                if begin < expectedBegin {
                    throw SafetensorsError.invalidOffsets(
                        tensor: tensor,
                        reason: "its data begins at byte \(begin), overlapping \(quoted(previous.name)), "
                            + "which ends at \(expectedBegin)")
                }
            } else if begin != 0 {
                throw SafetensorsError.invalidOffsets(
                    tensor: tensor,
                    reason: "the first tensor's data begins at byte \(begin) of the data section, not at 0")
            }
            sorted.append(entry)
            expectedBegin = entry.dataRange.upperBound
        }
        return sorted
    }
}
