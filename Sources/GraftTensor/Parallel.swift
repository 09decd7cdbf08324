import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs independent pieces of kernel work on all cores.
///
/// A small persistent pool (threads − 1 workers plus the caller) hands out indices dynamically, so
/// uneven pieces still balance. Callers make the pieces coarse (an image, a tile of columns, a
/// block of channels): a dispatch costs a few microseconds. A call made from inside a running
/// piece (or while another thread's call is running) runs serially on the calling thread, so
/// kernels can nest without deadlock.
public enum Parallel {
    /// How many threads kernels use (default: the active processor count). `--threads N` sets it.
    public static var threads: Int {
        get { ThreadPool.shared.threadCount.load(ordering: .relaxed) }
        set { ThreadPool.shared.threadCount.store(max(1, min(newValue, 64)), ordering: .relaxed) }
    }

    /// Calls `body(i)` for every `i` in `0..<count`, spread over `threads` threads, and returns
    /// when all calls have finished. The order of calls is unspecified.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        let pool = ThreadPool.shared
        let wanted = min(count, pool.threadCount.load(ordering: .relaxed))
        guard wanted > 1, pool.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            pool.run(count: count, helpers: wanted - 1, body: escapable)
        }
        pool.busy.store(false, ordering: .releasing)
    }

    /// The smallest count from `count` up (at most `limit`) for which `outer · count` equal pieces split
    /// evenly over the threads: with one piece too many a core idles while the other finishes it (a
    /// 56×56 plane in 7 LayerNorm pieces, 25 Winograd blocks, 12 panels in 8 uneven pieces).
    static func evenCount(_ count: Int, outer: Int = 1, limit: Int = .max) -> Int {
        let t = threads
        var c = count
        while (outer * c) % t != 0 && c < limit { c += 1 }
        return c
    }

    /// Splits `0..<count` into contiguous ranges of at least `grain` elements (about four per
    /// thread, for balance) and calls `body` for each range in parallel.
    public static func forRanges(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let t = threads
        let pieces = max(1, min(count / max(grain, 1), t == 1 ? 1 : 4 * t))
        if pieces == 1 { body(0..<count); return }
        forEach(pieces) { p in
            body((count * p / pieces)..<(count * (p + 1) / pieces))
        }
    }
}

/// The worker threads behind `Parallel`. Workers spin briefly after each job (kernels arrive in
/// quick succession during a forward pass) and then sleep on a condition variable.
final class ThreadPool: @unchecked Sendable {
    static let shared = ThreadPool()

    let threadCount: Atomic<Int>
    let busy = Atomic<Bool>(false)
    /// Bumped once per job; workers compare it with the last generation they served.
    private let generation = Atomic<Int>(0)
    private let nextIndex = Atomic<Int>(0)
    private let pendingHelpers = Atomic<Int>(0)
    private var jobCount = 0
    private var jobHelpers = 0
    private var jobBody: ((Int) -> Void)?

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var workers = 0

    /// How long an idle worker polls for the next job before sleeping (in polls; ≈ 50 µs).
    private static let spinPolls = 20_000

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        let cores = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        threadCount = Atomic(max(1, min(cores, 64)))
    }

    /// Runs one job; called only by the thread that won `busy`.
    func run(count: Int, helpers: Int, body: @escaping (Int) -> Void) {
        ensureWorkers(helpers)
        pthread_mutex_lock(mutex)
        jobCount = count
        jobHelpers = helpers
        jobBody = body
        nextIndex.store(0, ordering: .relaxed)
        pendingHelpers.store(helpers, ordering: .relaxed)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)

        drain(count: count, body: body)
        // Wait for the helpers: they finish pieces already taken, so this wait is short.
        var polls = 0
        while pendingHelpers.load(ordering: .acquiring) > 0 {
            polls += 1
            if polls % 1024 == 0 { sched_yield() }
        }
        jobBody = nil
    }

    private func drain(count: Int, body: (Int) -> Void) {
        while true {
            let i = nextIndex.add(1, ordering: .relaxed).oldValue
            if i >= count { return }
            body(i)
        }
    }

    private func ensureWorkers(_ n: Int) {
        while workers < n {
            let index = workers
            workers += 1
            var tid = pthread_t()
            // The worker starts from the current generation, so a job published before the thread
            // gets to run is still seen as new.
            let start = WorkerStart(pool: self, index: index, served: generation.load(ordering: .acquiring))
            let box = Unmanaged.passRetained(start)
            _ = pthread_create(&tid, nil, { raw in
                guard let raw else { return nil }
                let start = Unmanaged<WorkerStart>.fromOpaque(raw).takeRetainedValue()
                start.pool.workerLoop(index: start.index, served: start.served)
                return nil
            }, box.toOpaque())
            pthread_detach(tid)
        }
    }

    private func workerLoop(index: Int, served initial: Int) {
        var served = initial
        while true {
            var polls = 0
            while generation.load(ordering: .acquiring) == served && polls < Self.spinPolls { polls += 1 }
            pthread_mutex_lock(mutex)
            while generation.load(ordering: .acquiring) == served { pthread_cond_wait(wake, mutex) }
            served = generation.load(ordering: .acquiring)
            let take = index < jobHelpers
            let count = jobCount
            // Only helpers of this job touch the body, and they drop it before reporting done:
            // the caller's `withoutActuallyEscaping` requires that no reference outlives the job.
            var body = take ? jobBody : nil
            pthread_mutex_unlock(mutex)
            if take {
                if let job = body { drain(count: count, body: job) }
                body = nil
                pendingHelpers.subtract(1, ordering: .releasing)
            }
        }
    }
}

private final class WorkerStart {
    let pool: ThreadPool
    let index: Int
    let served: Int
    init(pool: ThreadPool, index: Int, served: Int) {
        self.pool = pool
        self.index = index
        self.served = served
    }
}
