/// Bounds on what an HDF5 file may declare, checked before anything sized by the file is allocated.
///
/// The defaults accept every real Keras checkpoint (EfficientNetB7's largest attribute is a few
/// hundred kilobytes; its deepest group four levels) and mirror Keras' own shape-bomb rule. Tests
/// lower them to exercise each refusal with a file of a few kilobytes, the way Keras' tests patch its
/// thresholds.
public struct HDF5Limits: Sendable, Equatable {
    /// A dataset whose declared size is above this floor must not exceed `maxExpansion` times the
    /// bytes it stores. Keras' own rule (`_H5_DATASET_BOMB_FLOOR_BYTES`) puts the floor at 4 GiB, but
    /// then a chunked dataset declared just under it with no chunk written is a 2 KB file that makes
    /// the reader allocate 4 GiB of fill value; 64 MiB keeps the work proportional to the file while
    /// every real weight (stored at a compression ratio near 1) passes.
    public var bombFloorBytes: Int
    /// See `bombFloorBytes` (Keras `_H5_DATASET_MAX_EXPANSION`, 1000).
    public var maxExpansion: Int
    /// The largest dataset Graft reads into memory, whatever it stores (8 GiB: VGG's largest
    /// weight is 411 MB; an allocation the machine cannot make would end the process).
    public var maxDatasetBytes: Int
    /// How far a chunked dataset's chunk may exceed the dataset itself (libhdf5 allocates a whole
    /// chunk to read it, so a 4 GiB chunk on a 4-byte dataset is an allocation bomb).
    public var chunkSlackBytes: Int
    /// The most dimensions a dataset may have (libhdf5's own maximum is 32).
    public var maxRank: Int
    /// The largest attribute value in bytes (fixed-length data before reading, variable-length
    /// strings after reading, see `HDF5Object.stringArrayAttribute`).
    public var maxAttributeBytes: Int
    /// The most elements one attribute may hold (bounds variable-length reads before they start).
    public var maxAttributeElements: Int
    /// The deepest group nesting a walk descends into.
    public var maxDepth: Int
    /// The most links one group may hold, and the most objects one walk may visit.
    public var maxObjects: Int
    /// The longest link name in bytes.
    public var maxNameBytes: Int

    public init(
        bombFloorBytes: Int = 64 << 20,
        maxExpansion: Int = 1000,
        maxDatasetBytes: Int = 8 << 30,
        chunkSlackBytes: Int = 16 << 20,
        maxRank: Int = 32,
        maxAttributeBytes: Int = 64 << 20,
        maxAttributeElements: Int = 1 << 20,
        maxDepth: Int = 64,
        maxObjects: Int = 1_000_000,
        maxNameBytes: Int = 65_535
    ) {
        self.bombFloorBytes = bombFloorBytes
        self.maxExpansion = maxExpansion
        self.maxDatasetBytes = maxDatasetBytes
        self.chunkSlackBytes = chunkSlackBytes
        self.maxRank = maxRank
        self.maxAttributeBytes = maxAttributeBytes
        self.maxAttributeElements = maxAttributeElements
        self.maxDepth = maxDepth
        self.maxObjects = maxObjects
        self.maxNameBytes = maxNameBytes
    }

    /// The limits used unless told otherwise.
    public static let `default` = HDF5Limits()
}
