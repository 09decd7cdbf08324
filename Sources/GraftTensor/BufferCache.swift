#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Recycles large tensor buffers instead of returning them to the system.
///
/// glibc serves allocations above 32 MB (and, after trimming, smaller ones) with fresh `mmap`
/// pages, so every new activation of a batch-16 training step (51 MB for ResNet's 64×112×112
/// maps) costs a page fault per 4 KB on first touch — a fifth of the step's CPU time when
/// measured. Training and inference allocate the same sizes over and over, so freed buffers of
/// 1 MB and more are kept by exact size (rounded to 4 KB) and handed out again, up to
/// `limitBytes` in total.
public enum TensorBufferCache {
    /// Most bytes kept for reuse (default 2 GiB); 0 disables the cache. Lowering it releases the
    /// excess at once.
    public static var limitBytes: Int {
        get { Pool.shared.limit }
        set { Pool.shared.setLimit(max(0, newValue)) }
    }

    /// Bytes currently held for reuse.
    public static var cachedBytes: Int { Pool.shared.cached }

    /// Returns every cached buffer to the system.
    public static func clear() { Pool.shared.setLimit(Pool.shared.limit, clearing: true) }

    /// Buffers below this size go straight to the system allocator.
    static let minimumBytes = 1 << 20

    /// Rounds a request to the size class it is cached under.
    static func sizeClass(_ bytes: Int) -> Int { (bytes + 4095) / 4096 * 4096 }

    final class Pool: @unchecked Sendable {
        static let shared = Pool()
        private var free: [Int: [UnsafeMutableRawPointer]] = [:]
        private(set) var cached = 0
        private(set) var limit = 2 << 30
        private let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
            let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
            pthread_mutex_init(m, nil)
            return m
        }()

        /// A cached buffer of exactly this size class, or nil.
        func take(_ size: Int) -> UnsafeMutableRawPointer? {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            guard let p = free[size]?.popLast() else { return nil }
            cached -= size
            return p
        }

        /// Keeps `p` for reuse when it fits under the limit; otherwise frees it.
        func give(_ p: UnsafeMutableRawPointer, size: Int) {
            pthread_mutex_lock(mutex)
            if cached + size <= limit {
                free[size, default: []].append(p)
                cached += size
                pthread_mutex_unlock(mutex)
                return
            }
            pthread_mutex_unlock(mutex)
            p.deallocate()
        }

        func setLimit(_ newLimit: Int, clearing: Bool = false) {
            pthread_mutex_lock(mutex)
            limit = newLimit
            var released: [UnsafeMutableRawPointer] = []
            if clearing || cached > limit {
                for (_, list) in free { released += list }
                free = [:]
                cached = 0
            }
            pthread_mutex_unlock(mutex)
            for p in released { p.deallocate() }
        }
    }

    /// A 64-byte aligned buffer of at least `bytes` bytes (from the cache when possible).
    static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        if bytes >= minimumBytes, let p = Pool.shared.take(sizeClass(bytes)) { return p }
        let size = bytes >= minimumBytes ? sizeClass(bytes) : max(bytes, 4)
        return UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    }

    /// Gives back a buffer from `allocate(bytes:)`.
    static func release(_ p: UnsafeMutableRawPointer, bytes: Int) {
        if bytes >= minimumBytes {
            Pool.shared.give(p, size: sizeClass(bytes))
        } else {
            p.deallocate()
        }
    }
}
