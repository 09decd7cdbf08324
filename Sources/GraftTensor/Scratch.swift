#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-thread reusable scratch memory (im2col tiles, Winograd blocks, padded planes).
///
/// Each thread owns one arena with a few numbered slots; a slot grows to the largest request seen
/// and is then reused, so steady-state forward passes allocate nothing. Kernels use fixed slot
/// numbers (`Scratch.Slot`) and never hold a slot across a call that might use the same slot.
enum Scratch {
    enum Slot: Int, CaseIterable {
        case columns = 0, gather, winogradInput, winogradProduct, plane, planeGrad, reduction, panelSlices, panelSharedSlices
    }

    /// A buffer of at least `count` floats from the calling thread's arena (contents undefined).
    static func buffer(_ slot: Slot, count: Int) -> UnsafeMutablePointer<Float> {
        Arena.current().buffer(slot.rawValue, count: count)
    }
}

private final class Arena {
    private var pointers: [UnsafeMutablePointer<Float>?]
    private var capacities: [Int]

    init() {
        pointers = Array(repeating: nil, count: Scratch.Slot.allCases.count)
        capacities = Array(repeating: 0, count: Scratch.Slot.allCases.count)
    }

    func buffer(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        if let p = pointers[slot], capacities[slot] >= count { return p }
        pointers[slot]?.deallocate()
        // Round up so slowly growing requests do not reallocate every time.
        let capacity = max(count + count / 4, 1024)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64)
        let p = raw.bindMemory(to: Float.self, capacity: capacity)
        pointers[slot] = p
        capacities[slot] = capacity
        return p
    }

    deinit {
        for p in pointers { p?.deallocate() }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            // Thread exit: release the arena owned by that thread.
            #if canImport(Glibc)
            guard let raw else { return }
            #endif
            Unmanaged<Arena>.fromOpaque(raw).release()
        }
        return key
    }()

    static func current() -> Arena {
        if let raw = pthread_getspecific(key) {
            return Unmanaged<Arena>.fromOpaque(raw).takeUnretainedValue()
        }
        let arena = Arena()
        pthread_setspecific(key, Unmanaged.passRetained(arena).toOpaque())
        return arena
    }
}

