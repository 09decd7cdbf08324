import GraftCore
import GraftHDF5

/// Why a Keras HDF5 weight file was refused.
///
/// File-level problems (links, filters, shape bombs, damage) arrive as `.hdf5` with the
/// `HDF5Error` that names the object; the other cases are about the Keras layout on top of it.
/// Names from the file are quoted with control characters escaped.
public enum KerasError: Error, CustomStringConvertible, Equatable {
    /// The HDF5 layer refused the file or an object in it.
    case hdf5(HDF5Error)
    /// Neither layout: no `layer_names` attribute (at the root or in `model_weights`) and no
    /// `layers` group.
    case notKerasWeights(file: String)
    /// A required Keras attribute is missing (`layer_names`, a layer's `weight_names`).
    case missingAttribute(path: String, attribute: String)
    /// The Keras structure is not what Keras writes: `reason` says how (a group named in
    /// `layer_names` is missing, a variable group holds something other than datasets `0`…`n-1`, …).
    case malformed(path: String, reason: String)
    /// A layer or weight name that is empty, `.`, `..`, or contains NUL (or `/` in a layer name).
    case invalidName(path: String, name: String)
    /// A weight listed in `weight_names` has no dataset.
    case missingWeight(layer: String, weight: String)
    /// A layer holds a number of variables its class cannot have, or its group holds datasets
    /// that `weight_names` does not list.
    case weightCountMismatch(layer: String, reason: String)
    /// A weight is stored as something other than floating point (an int, compound, string,
    /// enum or variable-length dataset where a kernel is expected).
    case weightType(path: String, found: String)
    /// A weight's shape does not fit its layer class (a Conv2D kernel that is not 4-D, …).
    case weightShape(tensor: String, shape: [Int], expected: String)
    /// Two weights end up with the same canonical name.
    case duplicateName(String)

    public var description: String {
        switch self {
        case .hdf5(let e):
            return e.description
        case .notKerasWeights(let f):
            return "\(quoted(f)) is an HDF5 file but not Keras weights "
                + "(no layer_names attribute, no layers group)"
        case .missingAttribute(let p, let a):
            return "Keras group \(quoted(p)) has no \(quoted(a)) attribute"
        case .malformed(let p, let r):
            return "Keras group \(quoted(p)) is malformed: \(r)"
        case .invalidName(let p, let n):
            return "Keras group \(quoted(p)) names an invalid layer or weight \(quoted(n))"
        case .missingWeight(let l, let w):
            return "Keras layer \(quoted(l)) lists weight \(quoted(w)) but the file has no such dataset"
        case .weightCountMismatch(let l, let r):
            return "weight count mismatch for Keras layer \(quoted(l)): \(r)"
        case .weightType(let p, let found):
            return "Keras weight \(quoted(p)) is stored as \(found), not floating point"
        case .weightShape(let t, let s, let e):
            return "Keras weight \(quoted(t)) has shape \(s), expected \(e)"
        case .duplicateName(let n):
            return "two Keras weights map to the same name \(quoted(n))"
        }
    }
}

/// Runs `body`, turning an `HDF5Error` into `KerasError.hdf5` and a non-float dataset into
/// `KerasError.weightType`.
func keras<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as HDF5Error {
        if case .unsupportedType(let path, let found) = error {
            throw KerasError.weightType(path: path, found: found)
        }
        throw KerasError.hdf5(error)
    }
}

/// `text` in double quotes with control characters escaped and cut to 200 characters.
func quoted(_ text: String) -> String { SafeText.quoted(text, limit: 200) }
