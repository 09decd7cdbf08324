import Foundation
import GraftCore
import GraftHDF5
import GraftKeras
import GraftSafetensors
import GraftTorch

/// The file formats Graft reads.
public enum SourceFormat: String, Sendable, Codable, CaseIterable {
    case safetensors
    case torchZip = "torch-zip"
    case torchLegacy = "torch-legacy"
    case kerasH5 = "keras-h5"

    public var summary: String {
        switch self {
        case .safetensors: return "safetensors (Graft store)"
        case .torchZip: return "PyTorch zip checkpoint (torch.save, torch >= 1.6)"
        case .torchLegacy: return "PyTorch legacy checkpoint (torch <= 1.5 serialization)"
        case .kerasH5: return "Keras HDF5 weights (legacy .h5 or Keras 3 .weights.h5)"
        }
    }
}

public struct WeightEntry: Sendable {
    public let name: String
    public let tensor: LazyTensor

    public init(name: String, tensor: LazyTensor) {
        self.name = name
        self.tensor = tensor
    }
}

/// Options for opening any supported weight file.
public struct StoreOpenOptions: Sendable {
    public var torch: TorchImportOptions = .default
    public var normalizer = StateDictNormalizer()
    /// Compute the source file's sha256 (on a second thread) for provenance and hash checks.
    public var hashSource = true
    /// False when the caller needs names, dtypes and shapes only (`inspect --fast`): a Keras file read
    /// in a child process then comes back without its data (loading a tensor is an error), so the
    /// child does not read and copy every tensor.
    public var readsData = true

    public init() {}
}

/// A set of named tensors with provenance: what every importer produces and what `convert` writes.
///
/// Tensors stay lazy until read, so opening a 100 MB checkpoint costs only its metadata; a store
/// opened from safetensors hands out views of the memory-mapped file.
public final class WeightStore: @unchecked Sendable {
    public let sourcePath: String
    public let format: SourceFormat
    public let entries: [WeightEntry]
    public var metadata: StoreMetadata
    /// Problems that do not stop the import (a hash that does not match the file name, …). Reading
    /// them waits for the source hash when the file is named like a torchvision download.
    public var warnings: [String] {
        try? checkNamedHash()
        return namedHashWarnings
    }
    private var namedHashWarnings: [String] = []
    private var namedHashChecked = false
    /// The running sha256 of the source file, if requested.
    let sourceHash: SourceHash?

    init(sourcePath: String, format: SourceFormat, entries: [WeightEntry], metadata: StoreMetadata, sourceHash: SourceHash?) {
        self.sourcePath = sourcePath
        self.format = format
        self.entries = entries
        self.metadata = metadata
        self.sourceHash = sourceHash
    }

    /// A store of tensors already in memory (a trained model's state dict), to be written out.
    public static func inMemory(_ tensors: [(name: String, tensor: RawTensor)], metadata: StoreMetadata) -> WeightStore {
        WeightStore(sourcePath: "", format: .safetensors, entries: tensors.map { WeightEntry(name: $0.name, tensor: LazyTensor($0.tensor)) },
                    metadata: metadata, sourceHash: nil)
    }

    /// Opens a safetensors store, a torch zip or legacy checkpoint, or a Keras HDF5 file.
    public static func open(_ path: String, options: StoreOpenOptions = StoreOpenOptions()) throws -> WeightStore {
        let format = try detectFormat(path)
        let hash = options.hashSource ? SourceHash(path: path) : nil
        let store: WeightStore
        switch format {
        case .safetensors:
            store = try openSafetensors(path, hash: hash)
        case .torchZip, .torchLegacy:
            store = try openTorch(path, format: format, options: options, hash: hash)
        case .kerasH5:
            store = try openKeras(path, hash: hash, readsData: options.readsData)
        }
        // The hash the file's name promises is checked when it is known (`warnings`, or at the
        // end of `writeSafetensors`), so that hashing runs beside the conversion, not before it.
        return store
    }

    /// Detects the format from the first bytes.
    public static func detectFormat(_ path: String) throws -> SourceFormat {
        let file = try MappedFile(path: path)
        let head = file.bytes
        if let torch = TorchCheckpoint.detect(head) { return torch == .zip ? .torchZip : .torchLegacy }
        if head.count >= 8, Array(head.prefix(8)) == [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A] { return .kerasH5 }
        if head.count >= 9 {
            // safetensors: u64 header length, then JSON starting with '{' (whitespace allowed).
            let rest = head[8..<min(head.count, 64)].drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
            if rest.first == UInt8(ascii: "{") { return .safetensors }
        }
        // An HDF5 file may start with a user block; looked for only once safetensors is ruled out.
        if HDF5File.hasSignature(head) { return .kerasH5 }
        if TorchCheckpoint.isTarArchive(head) { throw TorchError.tarFormat }
        throw StoreError.unknownFormat
    }

    private static func openSafetensors(_ path: String, hash: SourceHash?) throws -> WeightStore {
        let file = try SafetensorsFile(path: path)
        var entries = file.header.entries.map { e in
            WeightEntry(name: e.name, tensor: LazyTensor(dtype: e.dtype, shape: e.shape) { try file.tensor(named: e.name).data })
        }
        let metadata = StoreMetadata(decoding: file.metadata)
        // Graft writes the widest dtypes first (alignment) and records the state-dict order beside it.
        if let order = metadata.order, order.count == entries.count, Set(order) == Set(entries.map(\.name)) {
            let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
            entries = order.compactMap { byName[$0] }
        }
        return WeightStore(sourcePath: path, format: .safetensors, entries: entries, metadata: metadata, sourceHash: hash)
    }

    private static func openTorch(_ path: String, format: SourceFormat, options: StoreOpenOptions, hash: SourceHash?) throws -> WeightStore {
        let checkpoint = try TorchCheckpoint.open(path: path, options: options.torch)
        let (tensors, report) = try options.normalizer.normalize(checkpoint.root)
        var metadata = StoreMetadata()
        metadata.sourceFile = (path as NSString).lastPathComponent
        metadata.sourceFormat = format.rawValue
        metadata.normalization = report
        metadata.notes = checkpoint.notes
        if let prefix = checkpoint.archivePrefix { metadata.notes.insert("archive folder '\(prefix)'", at: 0) }
        if checkpoint.byteOrder == "big" { metadata.notes.append("big-endian data converted to little-endian") }
        return WeightStore(sourcePath: path, format: format,
                           entries: tensors.map { WeightEntry(name: $0.name, tensor: $0.tensor) },
                           metadata: metadata, sourceHash: hash)
    }

    private static func openKeras(_ path: String, hash: SourceHash?, readsData: Bool) throws -> WeightStore {
        // libhdf5 may loop or fault on a corrupt file: in a watched child process when configured.
        if let launch = KerasReaderProcess.configured {
            return try KerasReaderProcess.open(path, launch: launch, hash: hash, readsData: readsData)
        }
        let (entries, metadata) = try kerasContents(path)
        return WeightStore(sourcePath: path, format: .kerasH5, entries: entries, metadata: metadata, sourceHash: hash)
    }

    /// A Keras file's tensors (lazy, read through libhdf5 in this process) and store metadata.
    static func kerasContents(_ path: String) throws -> (entries: [WeightEntry], metadata: StoreMetadata) {
        let keras = try KerasWeights.read(path: path)
        var metadata = StoreMetadata()
        metadata.sourceFile = (path as NSString).lastPathComponent
        metadata.sourceFormat = "\(SourceFormat.kerasH5.rawValue) (\(keras.layout.rawValue))"
        metadata.layoutChanges = keras.layoutChangeSummary
        metadata.notes = keras.notes + [keras.kerasVersion.map { "keras \($0)" }, keras.backend.map { "backend \($0)" }].compactMap { $0 }
        // keras.applications ends in `classifier_activation`, softmax unless the model was built
        // otherwise; a weights-only file does not say, so Keras' default is what `model.predict` gave.
        metadata.outputActivation = keras.classifierActivation ?? "softmax"
        if keras.classifierActivation == nil {
            metadata.notes.append("no model config: the classifier activation is taken as keras.applications' default, softmax")
        }
        return (keras.tensors.map { WeightEntry(name: $0.name, tensor: $0.tensor) }, metadata)
    }

    /// A file named like a torchvision download carries the start of its sha256 in its name; a
    /// mismatch is a warning naming both values (the file may be damaged or renamed), also kept in
    /// the metadata's notes. Waits for the hash; does its work once.
    func checkNamedHash() throws {
        guard !namedHashChecked, let hash = sourceHash, let expected = namedHashPrefix else { return }
        let actual = try hash.value()
        namedHashChecked = true
        if !actual.hasPrefix(expected) {
            let line = Self.namedHashMismatch(expected: expected, actual: actual)
            namedHashWarnings.append(line)
            metadata.notes.append("warning: \(line)")
        }
    }

    /// The sha256 prefix the source's file name promises, when hashing and named so.
    var namedHashPrefix: String? { sourceHash == nil ? nil : SourceHash.expectedPrefix(fileName: sourcePath) }

    static func namedHashMismatch(expected: String, actual: String) -> String {
        "file name says sha256 starts with \(expected), but the file's sha256 is \(actual)"
    }

    /// The sha256 of the source file (waits for the background hash).
    public func sourceSHA256() throws -> String? { try sourceHash?.value() }

    public func entry(named name: String) -> WeightEntry? { entries.first { $0.name == name } }

    public var totalBytes: Int { entries.reduce(0) { $0 + $1.tensor.byteCount } }

    /// Reads every tensor once, one at a time, so each format's own checks run on the data too (a
    /// torch archive's CRCs, LZMA or deflate streams, HDF5 filters such as fletcher32); the first
    /// failure is thrown. What `inspect` does unless told to be fast.
    public func checkIntegrity() throws {
        for entry in entries { _ = try entry.tensor.load() }
    }
    public var totalElements: Int { entries.reduce(0) { $0 + $1.tensor.elementCount } }
}

public enum StoreError: Error, CustomStringConvertible, Equatable {
    case unknownFormat
    case unsupportedFormat(String)
    case missingTensor(String)
    case sameFile(String)

    public var description: String {
        switch self {
        case .unknownFormat:
            return "unknown format: not safetensors, not a PyTorch checkpoint (zip or legacy), not HDF5"
        case .unsupportedFormat(let why): return why
        case .missingTensor(let name): return "no tensor named '\(name)'"
        case .sameFile(let path): return "the output \(path) is the input file"
        }
    }
}
