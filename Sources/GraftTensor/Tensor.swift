import GraftCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The buffer behind one or more `Tensor` values: a 64-byte aligned float32 allocation.
///
/// 64-byte alignment lets OpenBLAS and the vector loops start every plane on a cache line.
final class TensorStorage {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    /// Uninitialized storage for `count` floats (`count` already validated by the caller).
    init(uninitializedCount count: Int) {
        let raw = TensorBufferCache.allocate(bytes: max(count, 1) * 4)
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
    }

    func copy() -> TensorStorage {
        let other = TensorStorage(uninitializedCount: count)
        other.pointer.update(from: pointer, count: count)
        return other
    }

    deinit { TensorBufferCache.release(UnsafeMutableRawPointer(pointer), bytes: max(count, 1) * 4) }

    // MARK: Derived data

    /// Data computed from these values and kept with them (Winograd-transformed filters), so a
    /// network's weights are transformed once, not on every forward pass. Dropped whenever the
    /// values are written in place.
    private var derived: [DerivedKey: AnyObject] = [:]
    private static let derivedLock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    /// The object cached under `key`, made by `make` on first use.
    func derived<T: AnyObject>(_ key: DerivedKey, _ make: () -> T) -> T {
        pthread_mutex_lock(Self.derivedLock)
        if let cached = derived[key] as? T {
            pthread_mutex_unlock(Self.derivedLock)
            return cached
        }
        pthread_mutex_unlock(Self.derivedLock)
        let made = make()
        pthread_mutex_lock(Self.derivedLock)
        derived[key] = made
        pthread_mutex_unlock(Self.derivedLock)
        return made
    }

    /// Called before the values change in place.
    func dropDerived() {
        pthread_mutex_lock(Self.derivedLock)
        if !derived.isEmpty { derived = [:] }
        pthread_mutex_unlock(Self.derivedLock)
    }
}

/// A dense, contiguous, row-major float32 tensor with value semantics.
///
/// Copies share one buffer until one of them is mutated (copy-on-write, as `Array` does), so
/// passing tensors around and keeping snapshots is cheap. Convolution and pooling kernels read
/// 4-D tensors as NCHW.
public struct Tensor {
    /// The dimensions, outermost first.
    public private(set) var shape: [Int]
    var storage: TensorStorage

    /// The number of elements (the product of `shape`).
    public var count: Int { storage.count }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// Validates a shape and returns its element count.
    static func elementCount(_ shape: [Int], op: String) throws -> Int {
        // Cap at Int.max / 4 so the byte size of the buffer cannot overflow either.
        guard let n = Checked.elementCount(shape), n <= Int.max / 4 else {
            throw TensorError.invalidShape(op: op, shape: shape)
        }
        return n
    }

    /// Internal: storage for an already-validated shape, contents undefined.
    init(validShape shape: [Int], count: Int) {
        self.shape = shape
        self.storage = TensorStorage(uninitializedCount: count)
    }

    /// Internal: an uninitialized tensor whose shape the kernel has derived from valid operands.
    init(kernelShape shape: [Int]) {
        var n = 1
        for d in shape { n *= d }
        self.init(validShape: shape, count: n)
    }

    /// A tensor whose elements are left uninitialized, for outputs a kernel fully overwrites.
    ///
    /// The contents are arbitrary floats (never out-of-bounds memory); read them only after
    /// writing every element.
    public init(uninitializedShape shape: [Int]) throws {
        let n = try Self.elementCount(shape, op: "Tensor(uninitializedShape:)")
        self.init(validShape: shape, count: n)
    }

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: Float) throws {
        let n = try Self.elementCount(shape, op: "Tensor(shape:repeating:)")
        self.init(validShape: shape, count: n)
        storage.pointer.initialize(repeating: value, count: n)
    }

    /// A zero-filled tensor.
    public init(shape: [Int]) throws {
        try self.init(shape: shape, repeating: 0)
    }

    /// A tensor holding `values` in row-major order.
    public init(shape: [Int], values: [Float]) throws {
        let n = try Self.elementCount(shape, op: "Tensor(shape:values:)")
        guard n == values.count else {
            throw TensorError.countMismatch(op: "Tensor(shape:values:)", shape: shape, count: values.count)
        }
        self.init(validShape: shape, count: n)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { storage.pointer.initialize(from: base, count: n) }
        }
    }

    /// Internal: a zero tensor for a shape derived from valid operands.
    static func zeros(kernelShape shape: [Int]) -> Tensor {
        let t = Tensor(kernelShape: shape)
        t.storage.pointer.initialize(repeating: 0, count: t.count)
        return t
    }

    /// A copy of the elements in row-major order.
    public var values: [Float] {
        Array(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// The same elements under another shape with the same element count (no copy).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        let n = try Self.elementCount(newShape, op: "reshaped")
        guard n == count else { throw TensorError.countMismatch(op: "reshaped", shape: newShape, count: count) }
        var t = self
        t.shape = newShape
        return t
    }

    /// Calls `body` with the elements in row-major order.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Calls `body` with writable elements; the buffer is first made unique (copy-on-write).
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Internal fast access for kernels that only read.
    var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer) }

    /// Internal fast access for kernels that write; uniquifies first.
    mutating func mutablePointer() -> UnsafeMutablePointer<Float> {
        makeUnique()
        return storage.pointer
    }

    mutating func makeUnique() {
        if isKnownUniquelyReferenced(&storage) {
            storage.dropDerived()
        } else {
            storage = storage.copy()
        }
    }

    /// True when both values share one buffer (for tests of copy-on-write and `reshaped`).
    public func sharesStorage(with other: Tensor) -> Bool { storage === other.storage }

    /// The identity of the buffer (tracing which activation is which while the tensor is alive).
    public var storageID: ObjectIdentifier { ObjectIdentifier(storage) }
}

extension Tensor {
    /// Whether no element is NaN or ±∞, in one vectorized pass (per-element `isFinite` was 5× slower,
    /// 0.09 ms per 224² image, checked on every batch an engine that drops NaN would run).
    public var isAllFinite: Bool {
        withExtendedLifetime(self) { allFinite(pointer, count) }
    }
}

/// Whether `count` floats from `p` are all finite: x − x is 0 for every finite x and NaN for ±∞ and
/// NaN, and a NaN survives the sum.
public func allFinite(_ p: UnsafePointer<Float>, _ count: Int) -> Bool {
    var acc = Vec8()
    var i = 0
    while i + 8 <= count {
        let v = loadVec8(p + i)
        acc += v - v
        i += 8
    }
    var tail: Float = 0
    while i < count {
        tail += p[i] - p[i]
        i += 1
    }
    return acc.sum() + tail == 0
}

extension Tensor: Equatable {
    /// Equal shapes and elementwise `==` values (so a NaN makes two tensors unequal).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.shape == rhs.shape else { return false }
        for i in 0..<lhs.count where lhs.storage.pointer[i] != rhs.storage.pointer[i] { return false }
        return true
    }
}

extension Tensor: CustomStringConvertible {
    /// The shape and the first few values.
    public var description: String {
        let head = values.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), values: [\(head)\(count > 8 ? ", …" : "")])"
    }
}

/// What a derived object is and the shape it was made for (a reshaped view shares the storage but
/// may split its values differently). A value, so looking one up allocates nothing.
struct DerivedKey: Hashable {
    enum Kind: Hashable { case winogradF2x3, winogradF2x3Panels, winogradF2x3ColumnPanels, winogradF4x3, winogradF4x3Panels, panels, columnPanels }
    let kind: Kind
    let rows: Int
    let columns: Int
}
