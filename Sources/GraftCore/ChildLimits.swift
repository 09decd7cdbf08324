#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a reader child process (see `WatchedProcess`) does to itself before it touches its input.
///
/// The parent cannot set limits on a child that posix_spawn started without a race, so the child,
/// still running only Graft's own code, sets them first thing; everything after that is bounded.
public enum ChildLimits {
    #if os(Linux)
    /// glibc's prctl is variadic, which Swift cannot call; its arguments are all integers.
    @_silgen_name("prctl")
    private static func prctl(_ option: Int32, _ a2: UInt, _ a3: UInt, _ a4: UInt, _ a5: UInt) -> Int32
    #endif

    /// Bounds this process: `memoryBytes` of address space beyond what it has mapped now (an
    /// allocation past it fails instead of the machine swapping or the OOM killer choosing a victim;
    /// relative, because the runtime and OpenBLAS reserve a few hundred MiB of address space before
    /// any work, little of it resident), `cpuSeconds` of CPU time (SIGXCPU,
    /// then SIGKILL a few seconds later: a backstop should the watchdog parent be gone), no core
    /// file, and SIGKILL when the parent dies, so a looping child never outlives it. `parent` is the
    /// pid that spawned this process: if it is gone already, this throws.
    public static func apply(memoryBytes: Int, cpuSeconds: Int, parent: Int32?) throws {
        func set(_ resource: Int32, _ soft: Int, _ hard: Int, _ what: String) throws {
            // Never above a hard limit already in place (`ulimit -v`): raising one is not allowed.
            var current = rlimit()
            let ceiling = getrlimit(__rlimit_resource_t(resource), &current) == 0 ? current.rlim_max : rlim_t.max
            var limit = rlimit(rlim_cur: min(rlim_t(soft), ceiling), rlim_max: min(rlim_t(hard), ceiling))
            guard setrlimit(__rlimit_resource_t(resource), &limit) == 0 else {
                throw ChildLimitsError(what: what, reason: String(cString: strerror(errno)))
            }
        }
        try set(Int32(RLIMIT_CORE.rawValue), 0, 0, "core file size")
        let limit = Checked.add(mappedBytes(), memoryBytes) ?? Int.max
        try set(Int32(RLIMIT_AS.rawValue), limit, limit, "address space")
        try set(Int32(RLIMIT_CPU.rawValue), cpuSeconds, cpuSeconds + 5, "CPU time")
        #if os(Linux)
        // Not dumpable: no core even through a core_pattern pipe, which ignores RLIMIT_CORE.
        _ = prctl(4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0)
        // The parent thread that spawned this process waits for it, so it dies only with the parent.
        _ = prctl(1 /* PR_SET_PDEATHSIG */, UInt(SIGKILL), 0, 0, 0)
        #endif
        // A parent that died before the line above cannot send the signal any more.
        if let parent, getppid() != parent {
            throw ChildLimitsError(what: "lifetime", reason: "the process that started it has ended")
        }
    }
}

extension ChildLimits {
    /// This process's address-space size (the first field of /proc/self/statm, in pages); 0 where
    /// there is no such file.
    static func mappedBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let pages = text.split(separator: " ").first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

public struct ChildLimitsError: Error, CustomStringConvertible, Equatable {
    public let what: String
    public let reason: String

    public var description: String { "could not limit the reader process's \(what): \(reason)" }
}
