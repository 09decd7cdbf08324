import GraftCore
import GraftPickle
import GraftZip

/// Limits and policies for reading a PyTorch checkpoint, injected so tests can make them tiny.
public struct TorchImportOptions: Sendable {
    public var pickleLimits: PickleLimits
    public var zipLimits: ZipLimits
    /// torch can write archives without CRCs (`set_crc32_options(False)`); reading them needs consent.
    public var allowMissingCRC: Bool
    public var maxRank: Int

    public init(pickleLimits: PickleLimits = .default, zipLimits: ZipLimits = .default,
                allowMissingCRC: Bool = false, maxRank: Int = 32) {
        self.pickleLimits = pickleLimits
        self.zipLimits = zipLimits
        self.allowMissingCRC = allowMissingCRC
        self.maxRank = maxRank
    }

    public static let `default` = TorchImportOptions()
}

/// A decoded PyTorch checkpoint: its object graph with lazily read tensors, and what the container
/// said about itself.
public struct TorchCheckpoint: Sendable {
    public enum Format: String, Sendable, Codable {
        /// `torch.save` since 1.6: a zip archive of `data.pkl` and one record per storage.
        case zip
        /// `_use_new_zipfile_serialization=False` and torch ≤ 1.5: five pickles then raw storages.
        case legacy
    }

    public let format: Format
    public let root: CheckpointValue
    /// The zip's top-level folder (the saved file's stem, or `archive`); nil for legacy files.
    public let archivePrefix: String?
    public let byteOrder: String
    /// Container facts worth reporting: serialization version, storage alignment, unreferenced records.
    public let notes: [String]

    init(format: Format, root: CheckpointValue, archivePrefix: String?, byteOrder: String, notes: [String]) {
        self.format = format
        self.root = root
        self.archivePrefix = archivePrefix
        self.byteOrder = byteOrder
        self.notes = notes
    }

    /// Reads the checkpoint at `path`, detecting the zip and legacy formats from the first bytes.
    public static func open(path: String, options: TorchImportOptions = .default) throws -> TorchCheckpoint {
        let file = try MappedFile(path: path)
        switch detect(file.bytes) {
        case .zip: return try ZipCheckpointReader(path: path, options: options).read()
        case .legacy: return try LegacyCheckpointReader(file: file, options: options).read()
        case nil:
            if isTarArchive(file.bytes) { throw TorchError.tarFormat }
            throw TorchError.unknownFormat("no zip signature and no legacy torch magic number")
        }
    }

    /// Whether `bytes` are a tar archive (torch < 0.4's format, which Graft does not read).
    public static func isTarArchive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count > 262 && bytes[257..<262].elementsEqual("ustar".utf8)
    }

    /// The format a file's first bytes announce, if it is a torch checkpoint.
    public static func detect(_ bytes: UnsafeRawBufferPointer) -> Format? {
        guard bytes.count >= 4 else { return nil }
        let head = Array(bytes.prefix(4))
        if head == [0x50, 0x4B, 0x03, 0x04] || head == [0x50, 0x4B, 0x05, 0x06] { return .zip }
        // PROTO 2 then a 10-byte LONG1: the legacy magic-number pickle (its value is checked on reading,
        // so a damaged magic number is reported as such rather than as an unknown file).
        if Array(bytes.prefix(4)) == Array(LegacyCheckpointReader.magicPickle.prefix(4)) { return .legacy }
        return nil
    }

    /// Every `module.name` a checkpoint pickle may reference (anything else stops the decoding).
    public static var allowedGlobals: Set<String> { TorchGlobals.allowed }

    /// Decodes one pickle of the checkpoint with the torch allowlist, naming `record` in errors.
    static func decodePickle(_ bytes: UnsafeRawBufferPointer, from offset: Int = 0, record: String,
                             limits: PickleLimits) throws -> (value: PickleValue, end: Int) {
        do {
            return try PickleMachine(allowedGlobals: TorchGlobals.allowed, limits: limits).decode(bytes, from: offset)
        } catch let error as PickleError {
            throw TorchError.pickle(record: record, error)
        }
    }
}
