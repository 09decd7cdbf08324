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
    static let errorReported = Atomic<Int32>(0)
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
            TemporaryFiles.removeAllFromSignalHandler()
            signal(sig, SIG_DFL)
            raise(sig)
        })
    }

    nonisolated(unsafe) static var deferredInterruptMessage: StaticString = ""

    /// The CLI printed its one error line; a SIGBUS after that adds no second one.
    public static func noteErrorReported() { errorReported.store(1, ordering: .releasing) }

    /// A message from a handler: a static string's bytes straight to write(2), no allocation (a Swift
    /// String's C form would allocate, and malloc may be what faulted).
    static func writeToStderr(_ text: StaticString) {
        _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
    }

    /// Installs the handlers (the CLI does this once, at start).
    public static func install() {
        // Lazy statics initialize on first use; make that happen here, not inside a handler.
        _ = errorReported.load(ordering: .relaxed)
        _ = TemporaryFiles.paths
        _ = ForeignParserFiles.paths
        signal(SIGBUS, { _ in
            TemporaryFiles.removeAllFromSignalHandler()
            // An error line is already out (a write from the shrunken mapping failed with EFAULT, and
            // the unwinding touched it again): one line per failure.
            if FatalSignals.errorReported.load(ordering: .acquiring) != 0 { _exit(2) }
            FatalSignals.writeToStderr("graft: error: an input file was truncated or changed while it was being read (SIGBUS); nothing was written\n")
            _exit(2)
        })
        signal(SIGSEGV, { sig in
            guard let file = ForeignParserFiles.paths.firstFromSignalHandler else {
                signal(sig, SIG_DFL)
                raise(sig)
                return
            }
            TemporaryFiles.removeAllFromSignalHandler()
            FatalSignals.writeToStderr("graft: error: ")
            _ = write(2, file, strlen(file))
            FatalSignals.writeToStderr(": libhdf5 crashed reading this file (a corrupt HDF5 structure, SIGSEGV); refused, nothing was written\n")
            _exit(2)
        })
        for sig in [SIGINT, SIGTERM] {
            signal(sig, { sig in
                TemporaryFiles.removeAllFromSignalHandler()
                signal(sig, SIG_DFL)
                raise(sig)
            })
        }
    }
}

/// A fixed table of C strings that signal handlers can read without locks or allocation; adding and
/// removing take a mutex. The slots are atomics: a handler may run on another thread than the one
/// that filled them (ThreadSanitizer reported the SIGBUS handler on the hashing thread).
public final class SignalSafePaths: @unchecked Sendable {
    let capacity: Int
    let slots: UnsafeMutablePointer<Atomic<UnsafeMutablePointer<CChar>?>>
    let lock: UnsafeMutablePointer<pthread_mutex_t>

    init(capacity: Int) {
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        for i in 0..<capacity { (slots + i).initialize(to: Atomic(nil)) }
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
    }

    /// Adds a path (silently not, when the table is full: the normal paths still handle it).
    func add(_ path: String) {
        let copy = strdup(path)
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        for i in 0..<capacity where slots[i].load(ordering: .relaxed) == nil {
            slots[i].store(copy, ordering: .releasing)
            return
        }
        free(copy)
    }

    /// Removes one occurrence of a path.
    func remove(_ path: String) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        for i in 0..<capacity {
            if let p = slots[i].load(ordering: .relaxed), strcmp(p, path) == 0 {
                slots[i].store(nil, ordering: .releasing)
                free(p)
                return
            }
        }
    }

    var all: [String] {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return (0..<capacity).compactMap { slots[$0].load(ordering: .relaxed).map { String(cString: $0) } }
    }

    /// The first path, for a handler (no lock: a handler must not wait).
    var firstFromSignalHandler: UnsafeMutablePointer<CChar>? {
        for i in 0..<capacity { if let p = slots[i].load(ordering: .acquiring) { return p } }
        return nil
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
        for i in 0..<paths.capacity {
            if let p = paths.slots[i].load(ordering: .acquiring) { unlink(p) }
        }
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
