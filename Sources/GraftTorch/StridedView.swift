import GraftCore

/// A tensor as a strided window into a storage, validated at construction and copied into
/// contiguous C order on `materialize`.
///
/// torch saves views as they are — a transpose, a slice with an offset, an `expand` with stride 0,
/// two tensors sharing one storage — so the importer must honor offset and strides rather than
/// assume contiguity (burn loaded such tensors scrambled; candle refuses them).
struct StridedView {
    let storage: StorageDescriptor
    /// First element of the view in the storage: legacy view offset + tensor storage_offset.
    let start: Int
    let shape: [Int]
    let strides: [Int]
    let elementCount: Int
    static let maxRepetition = 16
    static let repetitionFloor = 1 << 20

    init(storage: StorageDescriptor, offset viewOffset: Int, viewCount: Int?, tensorOffset: Int,
         shape: [Int], strides: [Int]) throws {
        guard let start = Checked.add(viewOffset, tensorOffset) else { throw TorchError.overflow("storage offset") }
        guard let count = Checked.elementCount(shape) else { throw TorchError.overflow("shape \(shape)") }
        // A view that repeats its storage (stride 0, overlapping strides) would be materialized in full:
        // `torch.zeros(1).expand(2**34)` is a 2 KB file declaring 64 GiB. State dicts hold no such views
        // beyond small broadcasts, so a view may address at most `maxRepetition` times its storage
        // (and any view up to `repetitionFloor` elements).
        let allowed = Checked.mul(storage.elementCount, Self.maxRepetition).map { max($0, Self.repetitionFloor) } ?? Int.max
        guard count <= allowed else {
            throw TorchError.limitExceeded(
                "a view of storage '\(storage.key)' (\(storage.elementCount) elements) repeats it into \(count) elements, "
                + "more than \(Self.maxRepetition)× (stride-0 or overlapping strides)")
        }
        // The window a (legacy) storage view allows, in root-storage elements.
        let limit = viewCount.map { viewOffset + $0 } ?? storage.elementCount
        guard limit <= storage.elementCount else {
            throw TorchError.outOfBounds(storage: storage.key, required: limit, available: storage.elementCount)
        }
        if count > 0 {
            // Last element touched: start + Σ (size_i − 1) · stride_i, all overflow-checked.
            var last = start
            for (size, stride) in zip(shape, strides) {
                guard let step = Checked.mul(size - 1, stride), let next = Checked.add(last, step) else {
                    throw TorchError.overflow("view extent of storage '\(storage.key)'")
                }
                last = next
            }
            guard last < limit else {
                throw TorchError.outOfBounds(storage: storage.key, required: last + 1, available: limit)
            }
        }
        // An empty view touches no element, so (as in ATen) its offset is not bounds-checked.
        self.storage = storage
        self.start = start
        self.shape = shape
        self.strides = strides
        self.elementCount = count
    }

    /// Whether the view is the C-contiguous run `[start, start + count)`.
    var isContiguous: Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() where size != 1 {
            if stride != expected { return false }
            expected *= size
        }
        return true
    }

    /// The view's elements in C order, as a new buffer (or a window of `storageBytes` when the view is
    /// already one contiguous run).
    func materialize(from storageBytes: ByteBuffer) throws -> ByteBuffer {
        let item = storage.dtype.itemSize
        guard storageBytes.count == storage.elementCount * item else {
            throw TorchError.storageSizeMismatch(
                storage: storage.key, declaredBytes: storage.elementCount * item, actualBytes: storageBytes.count)
        }
        if isContiguous {
            if start == 0 && elementCount == storage.elementCount { return storageBytes }
            let out = ByteBuffer(uninitializedCount: elementCount * item)
            out.mutableBase.copyMemory(from: storageBytes.base + start * item, byteCount: elementCount * item)
            return out
        }
        let out = ByteBuffer(uninitializedCount: elementCount * item)
        gather(from: storageBytes.base, into: out.mutableBase, item: item)
        return out
    }

    /// Odometer walk over all but the innermost dimension; the innermost run is copied element by
    /// element (or as one block when its stride is 1).
    private func gather(from src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, item: Int) {
        guard elementCount > 0 else { return }
        let rank = shape.count
        let inner = shape[rank - 1]
        let innerStride = strides[rank - 1]
        var index = [Int](repeating: 0, count: max(rank - 1, 0))
        var srcOffset = start
        var out = 0
        while true {
            if innerStride == 1 {
                (dst + out * item).copyMemory(from: src + srcOffset * item, byteCount: inner * item)
            } else {
                for i in 0..<inner {
                    (dst + (out + i) * item).copyMemory(from: src + (srcOffset + i * innerStride) * item, byteCount: item)
                }
            }
            out += inner
            // Advance the odometer over the outer dimensions.
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                srcOffset += strides[d]
                if index[d] < shape[d] { break }
                srcOffset -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
            if d < 0 { return }
        }
    }
}
