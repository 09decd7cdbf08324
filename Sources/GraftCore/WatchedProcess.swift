#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process run to completion under a wall-clock deadline, its stderr captured.
///
/// Graft runs C parsers that can loop forever on a corrupt file (libhdf5) in a child process; this is
/// the parent's side. The child is started with posix_spawn (a fork without exec is unsafe in a
/// multithreaded Swift process), stdin and stdout on /dev/null, stderr on a pipe, every signal at its
/// default action and none blocked. When the deadline passes the child gets SIGKILL, which it cannot
/// catch or ignore, so `run` always returns within `timeout` plus the time the kernel needs to end it.
public enum WatchedProcess {
    public enum Ending: Sendable, Equatable {
        case exited(Int32)
        /// Ended by a signal it did not handle (SIGSEGV, SIGABRT, a SIGKILL from someone else …).
        case signaled(Int32)
        /// Killed by the watchdog when the deadline passed.
        case timedOut
    }

    public struct Outcome: Sendable {
        public let ending: Ending
        /// The first `stderrLimit` bytes the child wrote on stderr.
        public let stderr: [UInt8]
        /// The child's peak resident set (ru_maxrss).
        public let peakRSSKiB: Int
    }

    /// Runs `executable` with `arguments` (argv[0] is the executable) and the parent's environment.
    /// `passing` gives the child copies of parent descriptors under the given numbers (3 and up).
    public static func run(
        executable: String, arguments: [String], passing: [(parent: Int32, child: Int32)] = [],
        timeout: Double, stderrLimit: Int = 64 << 10
    ) throws -> Outcome {
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { throw WatchedProcessError.cannotStart(executable, reason: errnoText()) }
        let (readEnd, writeEnd) = (pipeFDs[0], pipeFDs[1])
        defer { close(readEnd) }
        // Close-on-exec: a process another thread spawns meanwhile must not hold the pipe open.
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        // Only the parent's end is non-blocking: the child's writes must never fail with EAGAIN.
        _ = fcntl(readEnd, F_SETFL, O_NONBLOCK)

        let pid: pid_t
        do {
            defer { close(writeEnd) }
            pid = try spawn(executable, arguments, stderrFD: writeEnd, passing: passing)
        }

        var captured: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        // Keeps reading past the limit (discarding), so a chatty child never blocks on a full pipe.
        func drain() -> Bool {
            while true {
                let n = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if n > 0 {
                    captured += chunk.prefix(min(n, max(0, stderrLimit - captured.count)))
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                return n == 0  // true at end of file; false when nothing more is there yet
            }
        }

        let deadline = monotonicSeconds() + max(0, timeout)
        var pipeOpen = true
        var status: Int32 = 0
        var usage = rusage()
        var timedOut = false
        while true {
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { break }
            if r < 0 && errno != EINTR {
                // ECHILD when the host ignores SIGCHLD (children are then reaped unseen): the outcome is lost.
                let reason = "wait4: \(errnoText())"
                kill(pid, SIGKILL)
                throw WatchedProcessError.cannotStart(executable, reason: reason)
            }
            let left = deadline - monotonicSeconds()
            if left <= 0 {
                kill(pid, SIGKILL)
                while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
                timedOut = true
                break
            }
            if pipeOpen {
                // Wakes at once when the child writes or exits (its end of the pipe closes).
                var p = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                _ = poll(&p, 1, Int32(min(left, 0.1) * 1000) + 1)
                if drain() { pipeOpen = false }
            } else {
                // Stderr is closed: the child is exiting (or closed fd 2 itself; the deadline still holds).
                usleep(UInt32(min(left, 0.002) * 1_000_000) + 1)
            }
        }
        if pipeOpen { _ = drain() }
        let ending: Ending
        if timedOut {
            ending = .timedOut
        } else if status & 0x7f == 0 {
            ending = .exited((status >> 8) & 0xff)
        } else {
            ending = .signaled(status & 0x7f)
        }
        return Outcome(ending: ending, stderr: captured, peakRSSKiB: Int(usage.ru_maxrss))
    }

    private static func spawn(
        _ executable: String, _ arguments: [String], stderrFD: Int32, passing: [(parent: Int32, child: Int32)]
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stderrFD, 2)
        // dup2 onto the same number would keep close-on-exec set, so every source is first copied
        // to a number above any target.
        var copies: [Int32] = []
        defer { copies.forEach { close($0) } }
        for (parent, child) in passing {
            let copy = fcntl(parent, F_DUPFD_CLOEXEC, 64)
            guard copy >= 0 else { throw WatchedProcessError.cannotStart(executable, reason: errnoText()) }
            copies.append(copy)
            posix_spawn_file_actions_adddup2(&actions, copy, child)
        }
        #if os(Linux)
        // Descriptors the host left inheritable are none of the child's business, and a hung child
        // holding one (the end of a pipe someone waits on) would hold up more than this call.
        _ = addCloseFrom(&actions, (passing.map(\.child).max() ?? 2) + 1)
        #endif

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        // The parent ignores SIGPIPE and may block signals on this thread; the child starts clean.
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw WatchedProcessError.cannotStart(executable, reason: String(cString: strerror(rc))) }
        return pid
    }

    #if os(Linux)
    /// glibc >= 2.34; missing from Swift's Glibc module, which lacks the _GNU_SOURCE declarations.
    @_silgen_name("posix_spawn_file_actions_addclosefrom_np")
    private static func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32
    #endif

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }

    /// A signal's name (`SIGSEGV`), or its number.
    public static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGSEGV: "SIGSEGV", SIGBUS: "SIGBUS", SIGABRT: "SIGABRT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
            SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGXCPU: "SIGXCPU",
            SIGXFSZ: "SIGXFSZ", SIGPIPE: "SIGPIPE",
        ]
        return names[signal] ?? "signal \(signal)"
    }
}

public enum WatchedProcessError: Error, CustomStringConvertible, Equatable {
    case cannotStart(String, reason: String)

    public var description: String {
        switch self {
        case .cannotStart(let executable, let reason): return "could not run \(executable): \(reason)"
        }
    }
}
