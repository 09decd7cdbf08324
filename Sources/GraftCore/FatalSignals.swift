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
    nonisolated(unsafe) static let errorReported: UnsafeMutablePointer<sig_atomic_t> = {
        let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// The CLI printed its one error line; a SIGBUS after that adds no second one.
    public static func noteErrorReported() { errorReported.pointee = 1 }

    /// Installs the handlers (the CLI does this once, at start).
    public static func install() {
        // Lazy statics initialize on first use; make that happen here, not inside a handler.
        _ = errorReported
        _ = TemporaryFiles.slots
        signal(SIGBUS, { _ in
            TemporaryFiles.removeAllFromSignalHandler()
            // An error line is already out (a write from the shrunken mapping failed with EFAULT, and
            // the unwinding touched it again): one line per failure.
            if FatalSignals.errorReported.pointee != 0 { _exit(2) }
            let message = "graft: error: an input file was truncated or changed while it was being read (SIGBUS); nothing was written\n"
            message.utf8CString.withUnsafeBufferPointer { p in
                _ = write(2, p.baseAddress, p.count - 1)
            }
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

/// The temporary output files being written right now (AtomicFileWriter's and ZipWriter's), so the
/// signal handlers can remove them. A fixed table of C strings: the handler reads it without locks or
/// allocation; registering and releasing take a mutex.
public enum TemporaryFiles {
    static let capacity = 64
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        p.initialize(repeating: nil, count: capacity)
        return p
    }()
    nonisolated(unsafe) static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    /// Remembers a temporary file (silently not, when more than `capacity` are open at once: the
    /// normal error paths still remove it).
    public static func register(_ path: String) {
        let copy = strdup(path)
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        for i in 0..<capacity where slots[i] == nil {
            slots[i] = copy
            return
        }
        free(copy)
    }

    /// Forgets a temporary file once it was renamed into place or removed.
    public static func release(_ path: String) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        for i in 0..<capacity {
            if let p = slots[i], strcmp(p, path) == 0 {
                slots[i] = nil
                free(p)
                return
            }
        }
    }

    /// The paths registered now (for tests).
    public static var registered: [String] {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return (0..<capacity).compactMap { slots[$0].map { String(cString: $0) } }
    }

    static func removeAllFromSignalHandler() {
        for i in 0..<capacity {
            if let p = slots[i] { unlink(p) }
        }
    }
}
