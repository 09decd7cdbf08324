import GraftCore

/// The safetensors format: Graft's native weight store and the format it exchanges with PyTorch.
///
/// A file is an 8-byte little-endian header length `N`, `N` bytes of UTF-8 JSON, then the data
/// section. The JSON maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}`
/// (offsets relative to the data section) and may hold `"__metadata__"`, an object of strings.
public enum Safetensors {
    /// Size of the header length field.
    static let lengthFieldSize = 8

    /// Validates a whole file and returns its header.
    ///
    /// Checks, in order: the length field (at least 8 bytes, `N` within `limits.maxHeaderBytes` and
    /// the file); the header is UTF-8 and strict JSON (an object, optional whitespace around it, no
    /// duplicate key at any level, nesting within the limit); every tensor entry (known dtype,
    /// non-negative shape within the rank limit, `end - begin` equal to the overflow-checked byte
    /// count, no unknown fields); sorted by offset the tensors cover the data section exactly,
    /// from 0 with no hole or overlap; and the file ends exactly where the last tensor ends.
    public static func parse(_ file: UnsafeRawBufferPointer, limits: SafetensorsLimits = .default) throws
        -> SafetensorsHeader
    {
        let headerLength = try declaredHeaderLength(of: file, limits: limits)
        let dataStart = lengthFieldSize + headerLength
        let json = UnsafeRawBufferPointer(rebasing: file[lengthFieldSize..<dataStart])
        if let bad = UTF8Validation.firstInvalidIndex(in: json) {
            throw SafetensorsError.headerNotUTF8(offset: lengthFieldSize + bad)
        }
        // Pass 1 proves the header is strict JSON before anything is interpreted, so syntax errors,
        // duplicate keys and deep nesting are reported the same wherever they sit.
        try checkSyntax(of: json, limits: limits)
        // Pass 2 reads the members into entries, checking each against the format's rules.
        var collector = HeaderCollector(limits: limits)
        var reader = JSONReader(json, fileOffset: lengthFieldSize, maxDepth: limits.maxNestingDepth)
        try reader.readObject(depth: 1, context: nil, keysKnownUnique: true) { reader, key in
            try collector.readMember(&reader, key: key)
        }
        let entries = try collector.entriesInFileOrder()
        let dataEnd = entries.last?.dataRange.upperBound ?? 0
        guard let expectedLength = Checked.add(dataStart, dataEnd) else {
            // Only reachable with an end offset near Int.max, so `entries` is not empty.
            let name = entries.last?.name ?? ""
            throw SafetensorsError.invalidOffsets(
                tensor: excerpt(name), reason: "its data ends at byte \(dataEnd), beyond any possible file")
        }
        guard expectedLength == file.count else {
            throw SafetensorsError.fileLengthMismatch(expected: expectedLength, actual: file.count)
        }
        return SafetensorsHeader(entries: entries, metadata: collector.metadata, dataStart: dataStart)
    }

    /// Validates a whole file held in an array (tests, small stores).
    public static func parse(_ file: [UInt8], limits: SafetensorsLimits = .default) throws
        -> SafetensorsHeader
    {
        try file.withUnsafeBytes { try parse($0, limits: limits) }
    }

    /// `N` from the length field, checked against the limit and against the bytes present.
    private static func declaredHeaderLength(
        of file: UnsafeRawBufferPointer, limits: SafetensorsLimits
    ) throws -> Int {
        guard file.count >= lengthFieldSize else {
            throw SafetensorsError.headerTooSmall(fileSize: file.count)
        }
        let declared = UInt64(littleEndian: file.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        let limit = max(limits.maxHeaderBytes, 0)
        // Compared as UInt64 first: a length with the top bit set must not reach Int(…).
        guard declared <= UInt64(limit), let length = Int(exactly: declared) else {
            throw SafetensorsError.headerTooLarge(declared: declared, limit: limit)
        }
        let available = file.count - lengthFieldSize
        guard length <= available else {
            throw SafetensorsError.headerLengthExceedsFile(declared: length, available: available)
        }
        return length
    }

    /// Pass 1: the header is one JSON object with only whitespace around it, strict everywhere.
    private static func checkSyntax(of json: UnsafeRawBufferPointer, limits: SafetensorsLimits) throws {
        var reader = JSONReader(json, fileOffset: lengthFieldSize, maxDepth: limits.maxNestingDepth)
        reader.skipWhitespace()
        guard !reader.isAtEnd, json[reader.position] == UInt8(ascii: "{") else {
            throw SafetensorsError.headerNotObject(
                offset: reader.currentFileOffset, found: reader.currentByteDescription)
        }
        // One member more than the tensor limit leaves room for __metadata__; the exact count is
        // checked in pass 2. Stopping here keeps a 10-million-entry header from being read whole.
        let maxMembers = Checked.add(max(limits.maxTensors, 0), 1) ?? Int.max
        try reader.readObject(
            depth: 1, context: nil, memberLimit: (maxMembers, .tooManyTensors(limit: limits.maxTensors))
        ) { reader, key in
            try reader.skipValue(depth: 2, context: key)
        }
        reader.skipWhitespace()
        guard reader.isAtEnd else {
            let found = reader.currentByteDescription
            throw reader.syntaxError("only whitespace may follow the header object, found \(found)")
        }
    }
}
