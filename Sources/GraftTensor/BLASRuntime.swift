import COpenBLAS

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One-time OpenBLAS setup: kernel selection and threading.
///
/// Two facts about Debian's OpenBLAS 0.3.21 (`DYNAMIC_ARCH`, pthreads) drive this:
/// - It predates AMD Zen 4/5 and falls back to its Haswell (AVX2) kernels on those CPUs, although
///   they run its SkylakeX (AVX-512) kernels about twice as fast. When the CPU reports the AVX-512
///   subsets those kernels use and the user has not chosen a core with `OPENBLAS_CORETYPE`, the
///   kernel table is re-selected through OpenBLAS's own `gotoblas_dynamic_init`, exactly as if
///   `OPENBLAS_CORETYPE=SkylakeX` had been set at launch.
/// - Its worker threads spin after every multi-threaded call, which fights `Parallel`'s threads.
///   So OpenBLAS runs single-threaded and Graft splits the work itself (see `Gemm`).
enum BLASRuntime {
    /// Evaluated (once, thread-safely) before the first BLAS call.
    static let ready: Bool = {
        selectFasterKernelsIfPossible()
        openblas_set_num_threads(1)
        return true
    }()

    /// OpenBLAS's configuration and kernel family, e.g. "OpenBLAS 0.3.21 … | SkylakeX".
    static var description: String {
        _ = ready
        let config = cString(symbol: "openblas_get_config") ?? "BLAS"
        let core = cString(symbol: "openblas_get_corename") ?? "?"
        return "\(config) | core \(core)"
    }

    private typealias VoidFunction = @convention(c) () -> Void
    private typealias StringFunction = @convention(c) () -> UnsafePointer<CChar>?

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        // RTLD_DEFAULT is the null handle on glibc: search every loaded object.
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name)
    }

    private static func cString(symbol name: String) -> String? {
        guard let f = symbol(name) else { return nil }
        let call = unsafeBitCast(f, to: StringFunction.self)
        guard let s = call() else { return nil }
        return String(cString: s)
    }

    private static func selectFasterKernelsIfPossible() {
        guard getenv("OPENBLAS_CORETYPE") == nil,
              let core = cString(symbol: "openblas_get_corename")?.lowercased(),
              core == "haswell" || core == "zen",
              cpuHasAVX512ForOpenBLAS(),
              let quit = symbol("gotoblas_dynamic_quit"), let initialize = symbol("gotoblas_dynamic_init")
        else { return }
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
        unsafeBitCast(quit, to: VoidFunction.self)()
        unsafeBitCast(initialize, to: VoidFunction.self)()
        unsetenv("OPENBLAS_CORETYPE")
    }

    /// Whether the kernel reports (and so has enabled in XCR0) the AVX-512 subsets OpenBLAS's
    /// SkylakeX kernels need.
    private static func cpuHasAVX512ForOpenBLAS() -> Bool {
        guard let flags = cpuFlags() else { return false }
        return ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"].allSatisfy(flags.contains)
    }

    /// The `flags` line of /proc/cpuinfo as a set of words.
    private static func cpuFlags() -> Set<Substring>? {
        guard let file = fopen("/proc/cpuinfo", "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            guard let line else { break }
            let text = String(cString: line)
            if text.hasPrefix("flags") {
                return Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }))
            }
        }
        return nil
    }
}
