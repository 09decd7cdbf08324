import GraftCore

/// Why an HDF5 file was refused or an object in it could not be read.
///
/// Every case names the file or the HDF5 path of the object involved (`/model_weights/conv1/kernel:0`)
/// and `description` says what is wrong in one line. Paths and names come from the file, so they are
/// quoted with control characters escaped before they reach a terminal.
public enum HDF5Error: Error, CustomStringConvertible, Equatable {
    // MARK: The file as a whole
    /// The input is not a regular file, cannot be opened, or is empty.
    case file(FileError)
    /// No HDF5 signature at offset 0 (nor at 512, 1024, … where a user block may precede it).
    case notHDF5(file: String)
    /// The file is shorter than its superblock says (a cut download or copy).
    case truncated(file: String, detail: String)
    /// libhdf5 could not decode a structure: a damaged or hostile file. `operation` says what
    /// Graft asked for, `detail` is the library's innermost message.
    case corrupt(path: String, operation: String, detail: String)

    // MARK: Objects and links
    /// No link of that name in the group.
    case notFound(path: String)
    /// The link is a soft or external link (or a user-defined one): following it could read
    /// another file or loop, so Graft refuses it like Keras' `safe_get_h5_group`.
    case linkNotAllowed(path: String, kind: String)
    /// The object is not the kind asked for (a dataset where a group is expected, …).
    case wrongObjectType(path: String, expected: String, found: String)
    /// A path component that is empty, `.`, `..`, or contains `/` or NUL.
    case invalidName(path: String, name: String)
    /// Groups nest deeper than the limit.
    case depthLimit(path: String, limit: Int)
    /// A walk reached a group a second time through hard links (a cycle, or one group shared by
    /// two parents, which a walk could otherwise revisit exponentially often).
    case linkCycle(path: String)
    /// A group holds more links than the limit, or a walk visits more objects than the limit.
    case tooManyObjects(path: String, limit: Int)

    // MARK: Datasets
    /// The dataset keeps its data in other files (`H5Pset_external`).
    case externalStorage(path: String)
    /// A virtual dataset (its data is mapped from other datasets, possibly in other files).
    case virtualDataset(path: String)
    /// A filter other than the built-in deflate, shuffle and fletcher32 (e.g. LZF or blosc,
    /// which would need a plugin library; plugins are never loaded).
    case unsupportedFilter(path: String, id: Int, name: String)
    /// The declared size is far beyond the bytes the file stores (a "shape bomb").
    case shapeBomb(path: String, declaredBytes: Int, storedBytes: Int)
    /// The declared size is above `HDF5Limits.maxDatasetBytes`.
    case datasetTooLarge(path: String, declaredBytes: Int, limit: Int)
    /// More dimensions than the limit.
    case rankTooLarge(path: String, rank: Int, limit: Int)
    /// A dimension does not fit `Int`, or the element or byte count overflows, or the dataspace
    /// is not a simple array (a NULL dataspace holds no data).
    case invalidShape(path: String, reason: String)
    /// The element type is not a number Graft can read (compound, string, enum, vlen, opaque, an
    /// unusual float layout, …), or not the kind the caller expects.
    case unsupportedType(path: String, found: String)

    // MARK: Attributes
    /// An attribute is larger than `HDF5Limits.maxAttributeBytes` or has more elements than
    /// `HDF5Limits.maxAttributeElements`.
    case attributeTooLarge(path: String, attribute: String, size: Int, limit: Int)
    /// An attribute is not the type asked for (an int array where strings are expected, …).
    case attributeType(path: String, attribute: String, found: String)
    /// A string attribute is not valid UTF-8.
    case attributeNotUTF8(path: String, attribute: String)

    public var description: String {
        switch self {
        case .file(let e):
            return e.description
        case .notHDF5(let f):
            return "\(quoted(f)) is not an HDF5 file (no HDF5 signature)"
        case .truncated(let f, let d):
            return "\(quoted(f)) is truncated: \(d)"
        case .corrupt(let p, let op, let d):
            return "HDF5 object \(quoted(p)) is damaged: \(op) failed (\(d))"
        case .notFound(let p):
            return "HDF5 object \(quoted(p)) does not exist"
        case .linkNotAllowed(let p, let kind):
            return "HDF5 object \(quoted(p)) is a \(kind) link; only hard links are followed"
        case .wrongObjectType(let p, let expected, let found):
            return "HDF5 object \(quoted(p)) is a \(found), expected a \(expected)"
        case .invalidName(let p, let n):
            return "HDF5 path \(quoted(p)) has an invalid component \(quoted(n))"
        case .depthLimit(let p, let l):
            return "HDF5 group \(quoted(p)) is nested deeper than the limit of \(l) levels"
        case .linkCycle(let p):
            return "HDF5 group \(quoted(p)) is reached twice through hard links (a cycle or a shared group)"
        case .tooManyObjects(let p, let l):
            return "HDF5 group \(quoted(p)) holds or reaches more than the limit of \(l) objects"
        case .externalStorage(let p):
            return "HDF5 dataset \(quoted(p)) stores its data in external files; refused"
        case .virtualDataset(let p):
            return "HDF5 dataset \(quoted(p)) is a virtual dataset; refused"
        case .unsupportedFilter(let p, let id, let name):
            return "HDF5 dataset \(quoted(p)) uses filter \(id) (\(quoted(name))); only deflate, shuffle and "
                + "fletcher32 are read (filter plugins are never loaded)"
        case .shapeBomb(let p, let declared, let stored):
            return "HDF5 dataset \(quoted(p)) declares \(declared) bytes but stores only \(stored); "
                + "refusing a possible shape/decompression bomb"
        case .datasetTooLarge(let p, let declared, let limit):
            return "HDF5 dataset \(quoted(p)) declares \(declared) bytes, more than the limit of \(limit)"
        case .rankTooLarge(let p, let rank, let limit):
            return "HDF5 dataset \(quoted(p)) has \(rank) dimensions, more than the limit of \(limit)"
        case .invalidShape(let p, let reason):
            return "HDF5 dataset \(quoted(p)) has an invalid shape: \(reason)"
        case .unsupportedType(let p, let found):
            return "HDF5 dataset \(quoted(p)) holds \(found), not a supported number type"
        case .attributeTooLarge(let p, let a, let size, let limit):
            return "attribute \(quoted(a)) of HDF5 object \(quoted(p)) is \(size) (bytes or elements), "
                + "more than the limit of \(limit)"
        case .attributeType(let p, let a, let found):
            return "attribute \(quoted(a)) of HDF5 object \(quoted(p)) is \(found), not the expected type"
        case .attributeNotUTF8(let p, let a):
            return "attribute \(quoted(a)) of HDF5 object \(quoted(p)) is not valid UTF-8"
        }
    }
}

/// `text` in double quotes with control characters, quotes and backslashes escaped, cut to 200
/// characters, so a hostile name cannot rewrite the terminal that shows an error.
func quoted(_ text: String) -> String { SafeText.quoted(text, limit: 200) }
