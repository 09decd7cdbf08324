import GraftCore
import GraftPickle

/// Why a PyTorch checkpoint was refused. Each case names the record (zip member or pickle) or the
/// tensor it concerns, so the CLI can print one line that a user can act on.
public enum TorchError: Error, CustomStringConvertible, Equatable {
    /// Neither a torch zip archive nor a legacy torch file.
    case unknownFormat(String)
    /// A TorchScript archive (`torch.jit.save`): code, not a state dict.
    case torchScript
    /// The torch 0.1.x tar format.
    case tarFormat
    case missingRecord(String)
    /// Zip members under more than one top-level folder.
    case ambiguousArchive([String])
    case unsupportedByteOrder(String)
    case badMagic
    case badProtocolVersion(String)
    /// A pickle (`record`) could not be decoded: a disallowed global, a malformed stream, a limit.
    case pickle(record: String, PickleError)
    /// A pickle ends before the bytes that follow it should start, or bytes trail the data.
    case trailingData(record: String, bytes: Int)
    /// A persistent id that is not a `('storage', …)` tuple, or a storage class Graft does not read.
    case invalidPersistentID(String)
    case unsupportedDType(String)
    case unsupportedTensorKind(String)
    /// A `_rebuild_tensor*` call whose arguments do not have the expected form.
    case malformedTensor(String)
    case invalidShape(String)
    case invalidStride(String)
    case invalidOffset(String)
    case overflow(String)
    /// A view reaches past the end of its storage.
    case outOfBounds(storage: String, required: Int, available: Int)
    /// A storage record holds fewer (or more) bytes than its declared element count needs.
    case storageSizeMismatch(storage: String, declaredBytes: Int, actualBytes: Int)
    /// One storage key declared with two dtypes or two sizes.
    case inconsistentStorage(String)
    case unexpectedTopLevel(String)
    case limitExceeded(String)
    /// An error of the zip layer, passed through with its text.
    case container(String)

    public var description: String {
        switch self {
        case .unknownFormat(let why): return "not a PyTorch checkpoint: \(why)"
        case .torchScript:
            return "a TorchScript archive (torch.jit.save: it holds code/constants.pkl), not a state dict; "
                + "save model.state_dict() with torch.save instead"
        case .tarFormat: return "the torch 0.1.x tar checkpoint format is not supported"
        case .missingRecord(let r): return "record '\(r)' is missing from the archive"
        case .ambiguousArchive(let prefixes):
            return "archive members sit under several top-level folders (\(prefixes.joined(separator: ", ")))"
        case .unsupportedByteOrder(let b): return "byteorder record says '\(b)' (expected 'little' or 'big')"
        case .badMagic: return "legacy checkpoint magic number does not match"
        case .badProtocolVersion(let v): return "legacy checkpoint protocol version \(v) (expected 1001)"
        case .pickle(let record, let error): return "\(record): \(error)"
        case .trailingData(let record, let n): return "\(record): \(n) unexpected bytes after its end"
        case .invalidPersistentID(let why): return "invalid persistent id: \(why)"
        case .unsupportedDType(let d): return "unsupported tensor dtype \(d)"
        case .unsupportedTensorKind(let k): return "unsupported tensor kind \(k)"
        case .malformedTensor(let why): return "malformed tensor record: \(why)"
        case .invalidShape(let why): return "invalid tensor shape: \(why)"
        case .invalidStride(let why): return "invalid tensor stride: \(why)"
        case .invalidOffset(let why): return "invalid storage offset: \(why)"
        case .overflow(let why): return "size overflow: \(why)"
        case .outOfBounds(let s, let req, let avail):
            return "tensor view needs \(req) elements of storage '\(s)', which has \(avail)"
        case .storageSizeMismatch(let s, let d, let a):
            return "storage '\(s)' record is \(a) bytes, its declared size needs \(d)"
        case .inconsistentStorage(let why): return "inconsistent storage: \(why)"
        case .unexpectedTopLevel(let why): return "unexpected checkpoint structure: \(why)"
        case .limitExceeded(let why): return "limit exceeded: \(why)"
        case .container(let why): return why
        }
    }
}
