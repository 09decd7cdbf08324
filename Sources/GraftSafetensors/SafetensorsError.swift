import GraftCore

/// Why a safetensors file was refused, a tensor could not be read, or a store could not be written.
///
/// Every case names the tensor, key or file offset involved, and `description` says what is wrong
/// in one line. Names are quoted with control characters escaped, so a hostile name cannot rewrite
/// the terminal that shows the message.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    // MARK: Framing
    /// The file is shorter than the 8-byte header length field.
    case headerTooSmall(fileSize: Int)
    /// The declared header length is above the limit (this includes lengths that do not fit `Int`).
    case headerTooLarge(declared: UInt64, limit: Int)
    /// The declared header length runs past the end of the file.
    case headerLengthExceedsFile(declared: Int, available: Int)
    /// The header is not UTF-8; `offset` is the file offset of the first invalid byte.
    case headerNotUTF8(offset: Int)
    /// The header does not begin (after optional whitespace) with `{`.
    case headerNotObject(offset: Int, found: String)

    // MARK: JSON syntax
    /// The header is not strict JSON at file offset `offset`.
    case invalidJSON(offset: Int, reason: String)
    /// Objects and arrays are nested deeper than the limit.
    case nestingTooDeep(offset: Int, limit: Int)
    /// A key appears twice in one object; `context` is the enclosing key, nil for the top level.
    case duplicateKey(key: String, context: String?)

    // MARK: Header contents
    /// More tensor entries than the limit.
    case tooManyTensors(limit: Int)
    /// A tensor name longer than the limit (in UTF-8 bytes); `name` is its beginning.
    case nameTooLong(name: String, length: Int, limit: Int)
    /// `__metadata__` is not an object of strings; `key` is the offending metadata key, if any.
    case invalidMetadata(key: String?, reason: String)
    /// A tensor entry is not an object.
    case invalidEntry(tensor: String, reason: String)
    /// A tensor entry lacks `dtype`, `shape` or `data_offsets`.
    case missingField(tensor: String, field: String)
    /// A tensor entry has a field safetensors does not define.
    case unknownField(tensor: String, field: String)
    /// A field has the wrong JSON type or an impossible value.
    case invalidField(tensor: String, field: String, reason: String)
    /// A dtype string Graft does not read (`F8_E4M3`, `C64`, …).
    case unsupportedDType(tensor: String, dtype: String)
    /// More dimensions than the limit.
    case rankTooLarge(tensor: String, limit: Int)
    /// A dimension does not fit 64 bits, or the element or byte count overflows.
    case shapeOverflow(tensor: String, shape: String)
    /// `end - begin` differs from the byte count the dtype and shape need.
    case sizeMismatch(tensor: String, declaredBytes: Int, expectedBytes: Int)
    /// The data offsets are reversed, leave a hole, overlap, or do not fit.
    case invalidOffsets(tensor: String, reason: String)
    /// The file does not end exactly where the last tensor ends.
    case fileLengthMismatch(expected: Int, actual: Int)

    // MARK: Reading and writing
    /// `tensor(named:)` for a name the file does not hold.
    case tensorNotFound(name: String)
    /// A tensor to write is named `__metadata__`.
    case reservedName(String)
    /// Two tensors to write share a name.
    case duplicateTensorName(String)
    /// Two metadata entries to write share a key.
    case duplicateMetadataKey(String)
    /// A shape to write has a negative dimension, or its byte count overflows.
    case invalidShape(tensor: String, shape: [Int])
    /// The data handed to the writer is not the size the tensor's dtype and shape need.
    case dataSizeMismatch(tensor: String, expected: Int, actual: Int)
    /// Opening, mapping or writing a file failed.
    case file(FileError)

    public var description: String {
        switch self {
        case .headerTooSmall(let size):
            return "safetensors file is \(size) bytes, too small to hold the 8-byte header length"
        case .headerTooLarge(let declared, let limit):
            return "safetensors header declares \(declared) bytes, more than the limit of \(limit)"
        case .headerLengthExceedsFile(let declared, let available):
            return "safetensors header declares \(declared) bytes, "
                + "but only \(available) follow the length field"
        case .headerNotUTF8(let offset):
            return "safetensors header is not UTF-8 (invalid byte at offset \(offset))"
        case .headerNotObject(let offset, let found):
            return "safetensors header must begin with '{', found \(found) at offset \(offset)"
        case .invalidJSON(let offset, let reason):
            return "safetensors header is not valid JSON at offset \(offset): \(reason)"
        case .nestingTooDeep(let offset, let limit):
            return "safetensors header nests objects and arrays deeper than \(limit) levels "
                + "at offset \(offset)"
        case .duplicateKey(let key, let context):
            let place = context.map { "in \(quoted($0))" } ?? "at the top level"
            return "safetensors header has the key \(quoted(key)) twice \(place)"
        case .tooManyTensors(let limit):
            return "safetensors header lists more than \(limit) tensors"
        case .nameTooLong(let name, let length, let limit):
            return "tensor name \(quoted(name)) is \(length) bytes, longer than the limit of \(limit)"
        case .invalidMetadata(let key, let reason):
            return key.map { "__metadata__ entry \(quoted($0)) \(reason)" } ?? "__metadata__ \(reason)"
        case .invalidEntry(let tensor, let reason):
            return "tensor \(quoted(tensor)): \(reason)"
        case .missingField(let tensor, let field):
            return "tensor \(quoted(tensor)) has no \"\(field)\" field"
        case .unknownField(let tensor, let field):
            return "tensor \(quoted(tensor)) has an unknown field \(quoted(field))"
        case .invalidField(let tensor, let field, let reason):
            return "tensor \(quoted(tensor)): \"\(field)\" \(reason)"
        case .unsupportedDType(let tensor, let dtype):
            return "tensor \(quoted(tensor)) has the unsupported dtype \(quoted(dtype))"
        case .rankTooLarge(let tensor, let limit):
            return "tensor \(quoted(tensor)) has more than \(limit) dimensions"
        case .shapeOverflow(let tensor, let shape):
            return "tensor \(quoted(tensor)) has shape \(shape), whose size does not fit in 64 bits"
        case .sizeMismatch(let tensor, let declared, let expected):
            return "tensor \(quoted(tensor)) spans \(declared) bytes, "
                + "but its dtype and shape need \(expected)"
        case .invalidOffsets(let tensor, let reason):
            return "tensor \(quoted(tensor)): \(reason)"
        case .fileLengthMismatch(let expected, let actual):
            if actual < expected {
                return "file is \(expected - actual) bytes shorter than its header declares "
                    + "(\(actual) bytes, expected \(expected))"
            }
            return "file has \(actual - expected) bytes after the last tensor ends "
                + "(\(actual) bytes, expected \(expected))"
        case .tensorNotFound(let name):
            return "no tensor named \(quoted(name)) in the safetensors file"
        case .reservedName(let name):
            return "a tensor cannot be named \(quoted(name)): the name is reserved for metadata"
        case .duplicateTensorName(let name):
            return "two tensors are named \(quoted(name))"
        case .duplicateMetadataKey(let key):
            return "the metadata key \(quoted(key)) appears twice"
        case .invalidShape(let tensor, let shape):
            return "tensor \(quoted(tensor)) has an invalid shape \(shape) "
                + "(negative dimension or size overflow)"
        case .dataSizeMismatch(let tensor, let expected, let actual):
            return "tensor \(quoted(tensor)) was given \(actual) bytes of data, "
                + "its dtype and shape need \(expected)"
        case .file(let error):
            return error.description
        }
    }
}

/// A name in single quotes for a one-line message: control characters and quotes escaped, and cut
/// to 100 characters so a hostile megabyte-long name stays readable.
func quoted(_ text: String) -> String { SafeText.quoted(text, quote: "'", limit: 100) }

/// The beginning of a possibly huge text (a name, a number) kept in an error value.
func excerpt(_ text: String, limit: Int = 100) -> String {
    // No text has more scalars than UTF-8 bytes, and `utf8.count` is O(1) for native strings.
    if text.utf8.count <= limit { return text }
    let head = text.unicodeScalars.prefix(limit + 1)
    guard head.count > limit else { return text }
    return String(head.prefix(limit)) + "…"
}
