import COpenBLAS

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One-time OpenBLAS setup: kernel selection and threading.
///
/// Two facts about Debian's OpenBLAS 0.3.21 (`DYNAMIC_ARCH`, pthreads) drive this:
/// - Its kernel family can be pinned with `OPENBLAS_CORETYPE`, and images often pin `Haswell`
///   (AVX2) for reproducibility across hosts. On a CPU with AVX-512 its SkylakeX kernels run sgemm
///   about twice as fast (≈ 200 vs 100 GFLOP/s per core on the Zen 5 this was tuned on), and PyTorch,
///   which Graft is compared with, dispatches to AVX-512 regardless of that variable. So, unless
///   `GRAFT_BLAS_CORETYPE` says otherwise, an AVX2-or-older family is upgraded to SkylakeX when
///   the CPU reports the AVX-512 subsets those kernels use, through OpenBLAS's own
///   `gotoblas_dynamic_init` (exactly what `OPENBLAS_CORETYPE=SkylakeX` at launch does).
///   `GRAFT_BLAS_CORETYPE=system` keeps OpenBLAS's choice; any other value forces that family.
/// - Its worker threads spin after every multi-threaded call, which fights `Parallel`'s threads.
///   So OpenBLAS runs single-threaded and Graft splits the work itself (see `Gemm`).
public enum BLASRuntime {
    /// Debian's OpenBLAS starts its own worker threads when the library loads, and they spin for
    /// about a tenth of a second: long enough to steal a core from a short command (convert hashes
    /// on the second core) or a short benchmark. Graft never uses them (see above), so executables
    /// call this first; it does nothing when the user set `OPENBLAS_NUM_THREADS`.
    public static func stopLoadTimeThreads() {
        #if os(Linux)
        guard getenv("OPENBLAS_NUM_THREADS") == nil, let shutdown = symbol("blas_thread_shutdown_") else { return }
        typealias Shutdown = @convention(c) () -> Int32
        _ = unsafeBitCast(shutdown, to: Shutdown.self)()
        #endif
    }

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

    /// OpenBLAS families without AVX-512 kernels.
    private static let avx2OrOlder: Set<String> = [
        "haswell", "zen", "sandybridge", "excavator", "steamroller", "piledriver", "bulldozer", "nehalem",
        "core2", "penryn", "dunnington", "prescott", "atom", "barcelona", "bobcat", "opteron", "opteron_sse3", "nano",
    ]

    private static func selectFasterKernelsIfPossible() {
        let request = getenv("GRAFT_BLAS_CORETYPE").map { String(cString: $0) }
        if request?.lowercased() == "system" { return }
        guard let core = cString(symbol: "openblas_get_corename")?.lowercased() else { return }
        let target: String
        if let request, !request.isEmpty {
            target = request
        } else {
            guard avx2OrOlder.contains(core), cpuHasAVX512ForOpenBLAS() else { return }
            target = "SkylakeX"
        }
        guard target.lowercased() != core,
              let quit = symbol("gotoblas_dynamic_quit"), let initialize = symbol("gotoblas_dynamic_init")
        else { return }
        // OpenBLAS reads its choice from the environment; restore what the user had afterwards.
        let saved = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        setenv("OPENBLAS_CORETYPE", target, 1)
        unsafeBitCast(quit, to: VoidFunction.self)()
        unsafeBitCast(initialize, to: VoidFunction.self)()
        if let saved { setenv("OPENBLAS_CORETYPE", saved, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
    }

    /// Whether OpenBLAS runs 512-bit kernels (its SkylakeX family and newer): there its sgemm is
    /// about twice as fast per core as any AVX2 kernel, `PanelGemm` included.
    static var usesAVX512Kernels: Bool {
        _ = ready
        let core = cString(symbol: "openblas_get_corename")?.lowercased() ?? ""
        return ["skylakex", "cooperlake", "sapphirerapids"].contains(core)
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
