import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What happens when the process is stopped from outside: no temporary output is left behind, and a
/// mapped input that shrinks under us is a clear error, not a crash.
///
/// Inputs are memory-mapped (MappedFile). If another process truncates a file while it is mapped, the
/// next read of a page past the new end raises SIGBUS; no check before the read can prevent that, so
/// the handler turns it into graft's usual one-line error and exit code 2. SIGINT and SIGTERM remove
/// the temporary files too and then end the process with the signal's default action, so a shell sees
/// the usual status. Only async-signal-safe calls run in the handlers (unlink, write, _exit, raise).
public enum FatalSignals {
    // Atomics, not plain sig_atomic_t: the kernel runs a handler on whichever thread it picks (a
    // SIGBUS on the thread hashing the source, a Ctrl-C on any), and sig_atomic_t is only safe
    // against a handler on the writing thread (ThreadSanitizer reported the SIGBUS case). Lock-free
    // atomics are async-signal-safe.
    /// Who writes the process's error line: 0 nobody yet, 1 the CLI is writing one, 2 the CLI wrote
    /// one, 3 a fault handler writes its own (and ends the process). One ticket, so a fault on another
    /// thread while the CLI reports (the hashing thread touching a truncated mapping the main thread's
    /// write(2) just failed on) adds no second line, and never removes the only one.
    static let errorLine = Atomic<Int32>(0)
    static let interruptFlag = Atomic<Int32>(0)

    /// Whether a deferred Ctrl-C arrived (see `deferInterrupts`).
    public static var interruptRequested: Bool { interruptFlag.load(ordering: .acquiring) != 0 }

    /// From now on the first SIGINT (Ctrl-C) only asks the work to stop at its next safe point (a
    /// fine-tune's end of epoch, after its checkpoint); a second one stops at once, as before.
    public static func deferInterrupts(message: StaticString) {
        _ = interruptFlag.load(ordering: .relaxed)  // initialize before the handler can run
        deferredInterruptMessage = message
        signal(SIGINT, { sig in
            if FatalSignals.interruptFlag.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged {
                FatalSignals.writeToStderr(FatalSignals.deferredInterruptMessage)
                return
            }
            if FatalSignals.holdFromSignalHandler(sig) { return }
            FatalSignals.endBySignal(sig)
        })
    }

    nonisolated(unsafe) static var deferredInterruptMessage: StaticString = ""

    /// How many `holdingSignals` calls are running, and the first SIGINT/SIGTERM that came meanwhile.
    static let holdDepth = Atomic<Int>(0)
    static let heldSignal = Atomic<Int32>(0)

    /// Runs `body` with SIGINT and SIGTERM held until it returns, then lets a held one take effect
    /// (Graft's temporary files removed, the signal's default action). For a C library that writes a
    /// temporary file of its own naming, which no handler could find: libzip's `zip_close` writes the
    /// whole archive to `<path>.XXXXXX` and renames it over `<path>` (or removes it) before returning.
    /// A second signal while held acts at once.
    public static func holdingSignals<T>(_ body: () throws -> T) rethrows -> T {
        _ = heldSignal.load(ordering: .relaxed)  // initialize before a handler can run
        holdDepth.add(1, ordering: .acquiringAndReleasing)
        defer {
            if holdDepth.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                let sig = heldSignal.exchange(0, ordering: .acquiringAndReleasing)
                if sig != 0 { endBySignal(sig) }
            }
        }
        return try body()
    }

    /// From a handler: whether `sig` is held for later (the first one inside `holdingSignals`).
    static func holdFromSignalHandler(_ sig: Int32) -> Bool {
        guard holdDepth.load(ordering: .acquiring) > 0 else { return false }
        return heldSignal.compareExchange(expected: 0, desired: sig, ordering: .acquiringAndReleasing).exchanged
    }

    /// Removes the temporary output files and lets `sig` take its default action (the process ends
    /// with the status a shell expects for it). Async-signal-safe: handlers call it.
    static func endBySignal(_ sig: Int32) {
        TemporaryFiles.removeAllFromSignalHandler()
        signal(sig, SIG_DFL)
        raise(sig)
    }

    /// Set by the first fatal-fault handler that reports; a fault on another thread at the same time
    /// (the hashing thread and the reading thread both touching a truncated mapping) waits for that
    /// handler's `_exit` instead of printing a second line.
    static let faultReported = Atomic<Bool>(false)

    /// From a fault handler: returns in the first one only; any later one waits for its `_exit`.
    static func enterFirstFaultHandler() {
        if faultReported.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged { return }
        while true { pause() }
    }

    /// Writes one of the CLI's error lines to stderr (a single write(2) of the whole line), unless a
    /// fault handler has taken the line: then this thread waits for that handler to end the process.
    public static func writeErrorLine(_ line: String) {
        while true {
            let state = errorLine.load(ordering: .acquiring)
            if state == 3 { while true { pause() } }
            if errorLine.compareExchange(expected: state, desired: 1, ordering: .acquiringAndReleasing).exchanged { break }
        }
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBytes { _ = AtomicFileWriter.writeFully(2, $0) }
        errorLine.store(2, ordering: .releasing)
    }

    /// From a fault handler: true when the handler is to write its line; false when the CLI has
    /// written (or is writing, waited for here, at most about a second) its own.
    static func claimErrorLineFromSignalHandler() -> Bool {
        if errorLine.compareExchange(expected: 0, desired: 3, ordering: .acquiringAndReleasing).exchanged { return true }
        var nap = timespec(tv_sec: 0, tv_nsec: 1_000_000)
        for _ in 0..<1000 where errorLine.load(ordering: .acquiring) == 1 { nanosleep(&nap, nil) }
        return false
    }

    /// A message from a handler: a static string's bytes straight to write(2), no allocation (a Swift
    /// String's C form would allocate, and malloc may be what faulted).
    static func writeToStderr(_ text: StaticString) {
        _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
    }

    /// Installs the handlers (the CLI does this once, at start).
    public static func install() {
        // Lazy statics initialize on first use; make that happen here, not inside a handler.
        _ = errorLine.load(ordering: .relaxed)
        _ = faultReported.load(ordering: .relaxed)
        _ = TemporaryFiles.paths
        _ = ForeignParserFiles.paths
        signal(SIGBUS, { _ in
            FatalSignals.enterFirstFaultHandler()
            TemporaryFiles.removeAllFromSignalHandler()
            // An error line is already out (a write from the shrunken mapping failed with EFAULT, and
            // the unwinding or the hashing thread touched it again): one line per failure.
            guard FatalSignals.claimErrorLineFromSignalHandler() else { _exit(2) }
            FatalSignals.writeToStderr("graft: error: an input file was truncated or changed while it was being read (SIGBUS); nothing was written\n")
            _exit(2)
        })
        signal(SIGSEGV, { sig in
            FatalSignals.enterFirstFaultHandler()
            var reported = false
            ForeignParserFiles.paths.forEachFromSignalHandler { file in
                TemporaryFiles.removeAllFromSignalHandler()
                if FatalSignals.claimErrorLineFromSignalHandler() {
                    FatalSignals.writeToStderr("graft: error: ")
                    _ = write(2, file, strlen(file))
                    FatalSignals.writeToStderr(": libhdf5 crashed reading this file (a corrupt HDF5 structure, SIGSEGV); refused, nothing was written\n")
                }
                reported = true
                return false
            }
            guard reported else { return FatalSignals.endBySignal(sig) }
            _exit(2)
        })
        for sig in [SIGINT, SIGTERM] {
            signal(sig, { sig in
                if FatalSignals.holdFromSignalHandler(sig) { return }
                FatalSignals.endBySignal(sig)
            })
        }
    }
}

/// A fixed table of paths that signal handlers can read without locks, allocation or use-after-free.
///
/// Each slot is a fixed buffer that is never freed, guarded by a sequence counter (a seqlock): a writer
/// (under the mutex) makes the counter odd, changes the slot, and makes it even again; a handler copies
/// a slot only while the counter is even and keeps the copy only if the counter did not move meanwhile.
/// So a handler never reads freed memory (the old table freed a removed path while a handler on
/// another thread could be passing it to unlink) and never acts on a half-written path. The words are
/// atomics because a handler may run on another thread than the writer (ThreadSanitizer reported the
/// SIGBUS handler on the hashing thread). Paths longer than a slot are not kept: the normal failure
/// paths still remove those files, only a kill would leave one.
public final class SignalSafePaths: @unchecked Sendable {
    /// Words per slot: 4096 bytes, PATH_MAX on Linux, the terminating NUL included.
    static let words = 512
    let capacity: Int
    private let sequence: UnsafeMutablePointer<Atomic<Int>>
    private let occupied: UnsafeMutablePointer<Atomic<Bool>>
    private let text: UnsafeMutablePointer<Atomic<UInt64>>
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    /// Where a handler copies a path (allocated now: a handler must not allocate), and whether a
    /// handler on another thread is using it.
    private let handlerBuffer: UnsafeMutablePointer<CChar>
    private let handlerBusy = Atomic<Bool>(false)

    init(capacity: Int) {
        self.capacity = capacity
        sequence = .allocate(capacity: capacity)
        occupied = .allocate(capacity: capacity)
        text = .allocate(capacity: capacity * Self.words)
        for i in 0..<capacity { (sequence + i).initialize(to: Atomic(0)); (occupied + i).initialize(to: Atomic(false)) }
        for i in 0..<(capacity * Self.words) { (text + i).initialize(to: Atomic(0)) }
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        handlerBuffer = .allocate(capacity: Self.words * 8)
    }

    /// Adds a path (silently not when the table is full or the path longer than a slot).
    func add(_ path: String) {
        let bytes = Array(path.utf8)
        guard bytes.count < Self.words * 8, !bytes.contains(0) else { return }
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        guard let slot = (0..<capacity).first(where: { !occupied[$0].load(ordering: .relaxed) }) else { return }
        write(slot) {
            for w in 0..<((bytes.count + 8) / 8) {
                var word: UInt64 = 0
                for b in 0..<8 where w * 8 + b < bytes.count { word |= UInt64(bytes[w * 8 + b]) << (8 * b) }
                text[slot * Self.words + w].store(word, ordering: .relaxed)
            }
            occupied[slot].store(true, ordering: .relaxed)
        }
    }

    /// Removes one occurrence of a path.
    func remove(_ path: String) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        guard let slot = (0..<capacity).first(where: { occupied[$0].load(ordering: .relaxed) && string(at: $0) == path }) else { return }
        write(slot) { occupied[slot].store(false, ordering: .relaxed) }
    }

    /// The paths registered now (tests).
    var all: [String] {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return (0..<capacity).filter { occupied[$0].load(ordering: .relaxed) }.map { string(at: $0) }
    }

    /// Calls `body` with a NUL-terminated copy of each registered path until it returns false, from a
    /// signal handler: no lock, no allocation; a slot being changed right now is skipped. Returns false
    /// without calling `body` when a handler on another thread is already doing this (it will do the same).
    @discardableResult
    func forEachFromSignalHandler(_ body: (UnsafeMutablePointer<CChar>) -> Bool) -> Bool {
        guard handlerBusy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { handlerBusy.store(false, ordering: .releasing) }
        let raw = UnsafeMutableRawPointer(handlerBuffer)
        for slot in 0..<capacity {
            let before = sequence[slot].load(ordering: .acquiring)
            guard before & 1 == 0, occupied[slot].load(ordering: .relaxed) else { continue }
            for w in 0..<Self.words {
                let word = text[slot * Self.words + w].load(ordering: .relaxed)
                raw.storeBytes(of: word, toByteOffset: w * 8, as: UInt64.self)
                if (0..<8).contains(where: { (word >> (8 * $0)) & 0xFF == 0 }) { break }
            }
            atomicMemoryFence(ordering: .acquiring)
            guard sequence[slot].load(ordering: .relaxed) == before else { continue }
            if !body(handlerBuffer) { break }
        }
        return true
    }

    /// A slot's change between an odd and the next even sequence number (caller holds the lock).
    private func write(_ slot: Int, _ change: () -> Void) {
        let s = sequence[slot].load(ordering: .relaxed)
        sequence[slot].store(s + 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
        change()
        sequence[slot].store(s + 2, ordering: .releasing)
    }

    /// A slot's path (caller holds the lock).
    private func string(at slot: Int) -> String {
        var bytes: [UInt8] = []
        for w in 0..<Self.words {
            let word = text[slot * Self.words + w].load(ordering: .relaxed)
            for b in 0..<8 {
                let byte = UInt8((word >> (8 * b)) & 0xFF)
                if byte == 0 { return String(decoding: bytes, as: UTF8.self) }
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The temporary output files being written right now (AtomicFileWriter's and ZipWriter's), so the
/// signal handlers can remove them.
public enum TemporaryFiles {
    static let paths = SignalSafePaths(capacity: 64)

    /// Remembers a temporary file until it is renamed into place or removed.
    public static func register(_ path: String) { paths.add(path) }

    /// Forgets a temporary file once it was renamed into place or removed.
    public static func release(_ path: String) { paths.remove(path) }

    /// The paths registered now (for tests).
    public static var registered: [String] { paths.all }

    static func removeAllFromSignalHandler() {
        paths.forEachFromSignalHandler { path in unlink(path); return true }
    }
}

/// Input files open in a C library that parses them (libhdf5): a segmentation fault while one is open
/// is that library failing on the file's bytes, which the SIGSEGV handler reports as a refusal of the
/// file instead of a crash. (Fuzzing found structures libhdf5 1.10 reads out of bounds: a corrupt
/// global heap behind a variable-length string, a corrupt v2 B-tree header.)
public enum ForeignParserFiles {
    static let paths = SignalSafePaths(capacity: 64)

    public static func opened(_ path: String) { paths.add(path) }
    public static func closed(_ path: String) { paths.remove(path) }
}
