import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child run under the hostile catalogue's limits: spawned directly (Foundation's `Process` reports
/// neither peak memory nor a way to wait with a deadline), its address space capped through
/// `prlimit`, which execs the command in place.
///
/// Peak memory comes from GNU time's `%M`, not from our own wait4: a child spawned from this test
/// process inherits the test process's high-water RSS across exec (Linux keeps the larger of the old
/// and new mm's), so after a few hundred tests every child would seem to have used gigabytes. time
/// forks graft from its own small image, whose count starts afresh.
enum ChildProcess {
    enum End: Equatable {
        case exit(Int32)
        case signal(Int32)
        case timedOut
        case spawnFailed(Int32)
    }

    struct Result {
        let end: End
        /// graft's peak resident set in bytes (0 when it could not be measured).
        let maxResidentBytes: Int
        let seconds: Double
    }

    static let prlimit = "/usr/bin/prlimit"
    static let time = "/usr/bin/time"

    /// Runs `executable arguments` with stdout and stderr written to the given files (and time's
    /// report to `usage`); kills the whole process group with SIGKILL after `HostileLimits.seconds`.
    static func run(_ executable: String, _ arguments: [String], stdout: URL, stderr: URL, usage: URL) -> Result {
        let fm = FileManager.default
        var argv = [executable] + arguments
        if fm.isExecutableFile(atPath: prlimit) { argv = [prlimit, "--as=\(HostileLimits.addressSpaceBytes)", "--"] + argv }
        let timed = fm.isExecutableFile(atPath: time)
        if timed { argv = [time, "-f", "%M", "-o", usage.path] + argv }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // A process group of its own, so a timeout kills time, graft and nothing else.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let started = Date()
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        guard spawned == 0 else { return Result(end: .spawnFailed(spawned), maxResidentBytes: 0, seconds: 0) }

        var status: Int32 = 0
        let deadline = started.addingTimeInterval(HostileLimits.seconds)
        var timedOut = false
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date() > deadline {
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                timedOut = true
                break
            }
            usleep(2_000)
        }
        let seconds = Date().timeIntervalSince(started)
        // time's report: "Command terminated by signal N" / "Command exited with …" lines, then %M in KB.
        let report = timed ? ((try? String(contentsOf: usage, encoding: .utf8)) ?? "") : ""
        let lines = report.split(separator: "\n")
        let rss = (lines.last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0) * 1024
        if timedOut { return Result(end: .timedOut, maxResidentBytes: rss, seconds: seconds) }
        if let killed = lines.first(where: { $0.hasPrefix("Command terminated by signal ") }) {
            return Result(end: .signal(Int32(killed.split(separator: " ").last ?? "") ?? -1), maxResidentBytes: rss, seconds: seconds)
        }
        // WIFEXITED / WTERMSIG are macros Swift does not import: the low 7 bits are the signal.
        let signal = status & 0x7F
        let end: End = signal == 0 ? .exit((status >> 8) & 0xFF) : .signal(signal)
        return Result(end: end, maxResidentBytes: rss, seconds: seconds)
    }
}
