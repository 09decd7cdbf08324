import CPanelKernels
import XCTest

/// CPanelKernels' stride-2 gather (im2col's rows of a stride-2 convolution) on every instruction set
/// the CPU has: every length around the vector widths, nothing read past src[2n − 2] (a NaN sits there)
/// and nothing stored past dst[n − 1].
final class EvenLanesKernelTests: XCTestCase {
    func testEvenLanesOnEveryInstructionSet() throws {
        var kernels: [(String, (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void)] = []
        if graft_cpu_has_avx2_fma() != 0 { kernels.append(("avx2", graft_even_lanes_avx2)) }
        if graft_cpu_has_avx512f() != 0 { kernels.append(("avx512", graft_even_lanes_avx512)) }
        guard !kernels.isEmpty else { throw XCTSkip("neither AVX2+FMA nor AVX-512 on this CPU") }
        for (name, kernel) in kernels {
            for n in 1...49 {
                let src = (0..<(2 * n - 1)).map { Float($0) * 0.5 + 1 } + [.nan]
                var dst = [Float](repeating: -7, count: n + 20)
                kernel(src, &dst, n)
                XCTAssertEqual(Array(dst[0..<n]), (0..<n).map { src[2 * $0] }, "\(name) n \(n)")
                XCTAssert(dst[n...].allSatisfy { $0 == -7 }, "\(name) n \(n): stored past the end")
            }
        }
    }
}
