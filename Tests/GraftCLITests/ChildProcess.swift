import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child run under the hostile catalogue's limits: spawned directly (Foundation's `Process` reports
/// neither peak memory nor a way to wait with a deadline), its address space capped through
/// `prlimit`, which execs the command in place so `wait4` still measures graft itself.
enum ChildProcess {
    enum End: Equatable {
        case exit(Int32)
        case signal(Int32)
        case timedOut
        case spawnFailed(Int32)
    }

    struct Result {
        let end: End
        /// ru_maxrss of the child (kilobytes on Linux), in bytes.
        let maxResidentBytes: Int
        let seconds: Double
    }

    static let prlimit = "/usr/bin/prlimit"

    /// Runs `executable arguments` with stdout and stderr written to the given files; kills it with
    /// SIGKILL after `HostileLimits.seconds`.
    static func run(_ executable: String, _ arguments: [String], stdout: URL, stderr: URL) -> Result {
        let capped = FileManager.default.isExecutableFile(atPath: prlimit)
        let argv = capped ? [prlimit, "--as=\(HostileLimits.addressSpaceBytes)", "--", executable] + arguments
                          : [executable] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let started = Date()
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
        guard spawned == 0 else { return Result(end: .spawnFailed(spawned), maxResidentBytes: 0, seconds: 0) }

        var status: Int32 = 0
        var usage = rusage()
        let deadline = started.addingTimeInterval(HostileLimits.seconds)
        var timedOut = false
        while true {
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = wait4(pid, &status, 0, &usage)
                timedOut = true
                break
            }
            usleep(2_000)
        }
        let seconds = Date().timeIntervalSince(started)
        let rss = Int(usage.ru_maxrss) * 1024
        if timedOut { return Result(end: .timedOut, maxResidentBytes: rss, seconds: seconds) }
        // WIFEXITED / WTERMSIG are macros Swift does not import: the low 7 bits are the signal.
        let signal = status & 0x7F
        let end: End = signal == 0 ? .exit((status >> 8) & 0xFF) : .signal(signal)
        return Result(end: end, maxResidentBytes: rss, seconds: seconds)
    }
}
