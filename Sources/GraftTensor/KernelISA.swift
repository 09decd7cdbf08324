import CPanelKernels
import Foundation

/// Which of CPanelKernels' instruction-set variants this CPU runs: one build dispatches at run time,
/// full width on AVX-512 machines, AVX2 + FMA elsewhere, and Graft's portable Swift loops on CPUs
/// with neither. `GRAFT_NO_AVX512` set measures an AVX-512 machine as an AVX2 one.
enum KernelISA {
    case avx512, avx2, portable

    static let current: KernelISA =
        PanelGemm.avx512 ? .avx512 : graft_cpu_has_avx2_fma() != 0 ? .avx2 : .portable
}

