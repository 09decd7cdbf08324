@preconcurrency import CHDF5
import GraftCore

/// A dataset opened through a hard link, with its storage checked before anything is read.
///
/// Opening refuses virtual datasets, external storage, filters other than deflate, shuffle and
/// fletcher32, ranks above the limit, shapes whose byte count overflows, chunks far larger than the
/// dataset, and declared sizes far beyond what the file stores (Keras' shape-bomb rule). The element
/// type is only described here; `lazyTensor` refuses non-numeric types.
public final class HDF5Dataset: HDF5Object, @unchecked Sendable {
    /// The dimensions, outermost first (empty for a scalar).
    public let shape: [Int]
    /// What the elements are.
    public let elementType: HDF5ElementType
    /// The stored element size in bytes.
    public let itemSize: Int
    /// `elementCount × itemSize`.
    public let declaredBytes: Int
    /// The bytes the file allocates for the data (less than `declaredBytes` when compressed or
    /// never written).
    public let storedBytes: Int
    /// The filter ids in the pipeline (1 deflate, 2 shuffle, 3 fletcher32).
    public let filters: [Int]

    init(opening handle: HDF5Handle, path: String, context: HDF5FileContext) throws {
        try HDF5Runtime.prepare()
        let limits = context.limits
        let creation = try context.handle(
            H5Dget_create_plist(handle.id), path: path, operation: "reading dataset properties")
        defer { withExtendedLifetime(creation) {} }
        let layout = H5Pget_layout(creation.id)
        try context.check(
            layout == H5D_LAYOUT_ERROR ? -1 : 0, path: path, operation: "reading the dataset layout")
        if layout == H5D_VIRTUAL { throw HDF5Error.virtualDataset(path: path) }
        let externalCount = H5Pget_external_count(creation.id)
        try context.check(externalCount < 0 ? -1 : 0, path: path, operation: "reading external storage")
        if externalCount > 0 { throw HDF5Error.externalStorage(path: path) }
        let filters = try Self.checkFilters(creation.id, path: path, context: context)

        let space = try context.handle(
            H5Dget_space(handle.id), path: path, operation: "reading the dataspace")
        defer { withExtendedLifetime(space) {} }
        let shape = try Self.readShape(space.id, path: path, context: context)
        let type = try context.handle(H5Dget_type(handle.id), path: path, operation: "reading the datatype")
        defer { withExtendedLifetime(type) {} }
        guard let size = Int(exactly: H5Tget_size(type.id)), size > 0 else {
            throw HDF5Error.unsupportedType(path: path, found: HDF5Datatype.describe(type.id))
        }
        guard let count = Checked.elementCount(shape), let declared = Checked.mul(count, size) else {
            throw HDF5Error.invalidShape(path: path, reason: "\(shape) × \(size) bytes overflows")
        }
        let stored = Int(exactly: H5Dget_storage_size(handle.id)) ?? Int.max
        if declared > limits.bombFloorBytes, let allowed = Checked.mul(limits.maxExpansion, stored),
            declared > allowed
        {
            throw HDF5Error.shapeBomb(path: path, declaredBytes: declared, storedBytes: stored)
        }
        if declared > limits.maxDatasetBytes {
            throw HDF5Error.datasetTooLarge(
                path: path, declaredBytes: declared, limit: limits.maxDatasetBytes)
        }
        if layout == H5D_CHUNKED {
            try Self.checkChunk(
                creation.id, rank: shape.count, itemSize: size, declaredBytes: declared,
                path: path, context: context)
        }
        var dtypeAttribute: String?
        if H5Tget_class(type.id) == H5T_OPAQUE {
            let probe = HDF5Object(handle: handle, path: path, context: context)
            dtypeAttribute = try? probe.stringAttribute("dtype")
        }
        self.shape = shape
        self.itemSize = size
        self.declaredBytes = declared
        self.storedBytes = stored
        self.filters = filters
        self.elementType = HDF5Datatype.classify(type.id, dtypeAttribute: dtypeAttribute)
        super.init(handle: handle, path: path, context: context)
    }

    /// The element count (1 for a scalar).
    public var elementCount: Int { Checked.elementCount(shape) ?? 0 }

    /// A tensor whose bytes are read from this dataset when loaded: little-endian, C order, in the
    /// stored dtype (big-endian data is byte-swapped, which is exact). Floats only unless
    /// `allowIntegers`; anything else is `HDF5Error.unsupportedType` naming the path.
    public func lazyTensor(allowIntegers: Bool = false) throws -> LazyTensor {
        guard case .number(let dtype, _) = elementType, dtype.isFloatingPoint || allowIntegers else {
            throw HDF5Error.unsupportedType(path: path, found: elementType.description)
        }
        return LazyTensor(dtype: dtype, shape: shape) { [self] in try readBytes() }
    }

    /// Reads the whole dataset now (see `lazyTensor`).
    public func read(allowIntegers: Bool = false) throws -> RawTensor {
        try lazyTensor(allowIntegers: allowIntegers).load()
    }

    /// The raw little-endian bytes of a numeric dataset.
    func readBytes() throws -> ByteBuffer {
        try HDF5Runtime.prepare()
        guard case .number(_, let bigEndian) = elementType else {
            throw HDF5Error.unsupportedType(path: path, found: elementType.description)
        }
        let buffer = ByteBuffer(uninitializedCount: declaredBytes)
        guard declaredBytes > 0 else { return buffer }
        // Reading with the file's own type means no conversion: the bytes arrive as stored.
        let memoryType = try context.handle(
            H5Dget_type(handle.id), path: path, operation: "reading the datatype")
        defer { withExtendedLifetime(memoryType) {} }
        try context.check(
            H5Dread(handle.id, memoryType.id, 0 /* H5S_ALL */, 0, 0 /* H5P_DEFAULT */, buffer.mutableBase),
            path: path, operation: "reading the data")
        if bigEndian {
            ElementConversion.swapByteOrder(
                UnsafeMutableRawBufferPointer(start: buffer.mutableBase, count: declaredBytes),
                itemSize: itemSize)
        }
        return buffer
    }

    // MARK: - Checks

    /// The built-in filters whose code lives in libhdf5 itself; anything else would need a plugin.
    static let allowedFilters: Set<Int> = [1, 2, 3]  // deflate, shuffle, fletcher32

    private static func checkFilters(_ plist: hid_t, path: String, context: HDF5FileContext) throws -> [Int] {
        let count = H5Pget_nfilters(plist)
        try context.check(count < 0 ? -1 : 0, path: path, operation: "reading the filter pipeline")
        var ids: [Int] = []
        for index in 0..<UInt32(count) {
            var flags: UInt32 = 0
            var valueCount = 8
            var values = [UInt32](repeating: 0, count: 8)
            var name = [CChar](repeating: 0, count: 128)
            var config: UInt32 = 0
            let id = H5Pget_filter2(plist, index, &flags, &valueCount, &values, name.count, &name, &config)
            try context.check(id < 0 ? -1 : 0, path: path, operation: "reading the filter pipeline")
            let filterID = Int(id)
            guard allowedFilters.contains(filterID) else {
                let text = String(
                    decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw HDF5Error.unsupportedFilter(path: path, id: filterID, name: text)
            }
            ids.append(filterID)
        }
        return ids
    }

    private static func readShape(_ space: hid_t, path: String, context: HDF5FileContext) throws -> [Int] {
        switch H5Sget_simple_extent_type(space) {
        case H5S_SCALAR:
            return []
        case H5S_SIMPLE:
            let rank = H5Sget_simple_extent_ndims(space)
            try context.check(rank < 0 ? -1 : 0, path: path, operation: "reading the dataspace")
            guard Int(rank) <= context.limits.maxRank else {
                throw HDF5Error.rankTooLarge(path: path, rank: Int(rank), limit: context.limits.maxRank)
            }
            var dims = [hsize_t](repeating: 0, count: Int(rank))
            if rank > 0 {
                try context.check(
                    H5Sget_simple_extent_dims(space, &dims, nil), path: path,
                    operation: "reading the dataspace")
            }
            return try dims.map { d in
                guard let v = Int(exactly: d) else {
                    throw HDF5Error.invalidShape(
                        path: path, reason: "dimension \(d) does not fit a signed 64-bit integer")
                }
                return v
            }
        case H5S_NULL:
            throw HDF5Error.invalidShape(path: path, reason: "NULL dataspace (no data)")
        default:
            throw HDF5Runtime.takeError(
                file: context.filePath, path: path, operation: "reading the dataspace")
        }
    }

    private static func checkChunk(
        _ plist: hid_t, rank: Int, itemSize: Int, declaredBytes: Int, path: String, context: HDF5FileContext
    ) throws {
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        let chunkRank = H5Pget_chunk(plist, Int32(dims.count), &dims)
        try context.check(chunkRank < 0 ? -1 : 0, path: path, operation: "reading the chunk shape")
        var bytes = itemSize
        for d in dims.prefix(Int(chunkRank)) {
            guard let v = Int(exactly: d), let next = Checked.mul(bytes, v) else {
                throw HDF5Error.invalidShape(path: path, reason: "chunk shape overflows")
            }
            bytes = next
        }
        let allowed = Checked.add(declaredBytes, context.limits.chunkSlackBytes) ?? Int.max
        if bytes > allowed {
            throw HDF5Error.invalidShape(
                path: path, reason: "chunks of \(bytes) bytes for \(declaredBytes) bytes of data")
        }
    }
}
