import CPanelKernels
import GraftTensor
import XCTest

/// CPanelKernels' SiLU, sigmoid and GELU on every instruction set the CPU has (ActivationTests reach
/// only the one `KernelISA` picks): the double reference at ActivationTests' bounds, NaN kept, every
/// tail length around the vector widths with nothing stored past the end, and in place.
final class ActivationKernelTests: XCTestCase {
    typealias Kernel = (Int32, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Float) -> Void
    static let kinds: [(Int, Activation)] = [(GRAFT_ACTIVATION_SILU, .silu), (GRAFT_ACTIVATION_SIGMOID, .sigmoid),
                                             (GRAFT_ACTIVATION_GELU, .gelu)]

    func kernels() throws -> [(String, Kernel)] {
        var kernels: [(String, Kernel)] = []
        if graft_cpu_has_avx2_fma() != 0 { kernels.append(("avx2", graft_activate_avx2)) }
        if graft_cpu_has_avx512f() != 0 { kernels.append(("avx512", graft_activate_avx512)) }
        guard !kernels.isEmpty else { throw XCTSkip("neither AVX2+FMA nor AVX-512 on this CPU") }
        return kernels
    }

    func testMatchesDoubleReference() throws {
        // ActivationTests' inputs (signs, clamps, exp seams, ±∞) and GELU's dense grid on [−8, 8].
        let x = try ActivationTests.inputs().values + (-65_536...65_536).map { Float($0) / 8192 }
        for (name, kernel) in try kernels() {
            for (code, kind) in Self.kinds {
                var y = [Float](repeating: 0, count: x.count)
                kernel(Int32(code), x, &y, x.count, 0)
                let expected = x.map { v -> Double in kind == .silu && v == -.infinity ? -.infinity : naiveActivation(Double(v), kind) }
                assertClose(y, expected, atol: kind == .gelu ? 1e-8 : 1e-30, rtol: 4e-7, "\(name) \(kind)")
                // f(x + bias), the convolution epilogue's form (the sum rounded to float first), past the 22
                // special values that lead ActivationTests' inputs (−∞ among them, whose SiLU is a documented departure).
                kernel(Int32(code), x, &y, x.count, 0.625)
                let shifted = x.map { naiveActivation(Double($0 + 0.625), kind) }
                assertClose(Array(y[22...]), Array(shifted[22...]), atol: kind == .gelu ? 1e-8 : 1e-30, rtol: 4e-7, "\(name) \(kind) + bias")
            }
        }
    }

    /// The AVX-512 kernels build 2ⁿ with vscalefps and the AVX2 ones from its bits; both fold SiLU's and
    /// sigmoid's negation into the operations. Every step rounds the same magnitude either way, so the
    /// two instruction sets give the same bits — over every 4093rd float bit pattern and the inputs above.
    func testInstructionSetsAgreeBitForBit() throws {
        let kernels = try kernels()
        guard kernels.count == 2 else { throw XCTSkip("needs both AVX2+FMA and AVX-512") }
        var x = try ActivationTests.inputs().values
        for bits in stride(from: UInt32(0), to: UInt32.max - 4093, by: 4093) { x.append(Float(bitPattern: bits)) }
        for (code, kind) in Self.kinds {
            var (a, b) = ([Float](repeating: 0, count: x.count), [Float](repeating: 0, count: x.count))
            kernels[0].1(Int32(code), x, &a, x.count, 0)
            kernels[1].1(Int32(code), x, &b, x.count, 0)
            let differing = (0..<x.count).filter { a[$0].bitPattern != b[$0].bitPattern }
            XCTAssertEqual(differing.count, 0, "\(kind): first at \(differing.first.map { x[$0] } ?? 0)")
        }
    }

    func testTailsNaNAndInPlace() throws {
        for (name, kernel) in try kernels() {
            for (code, kind) in Self.kinds {
                for n in 1...40 {
                    var src = (0..<n).map { Float($0) * 0.37 - 5 }
                    src[n / 2] = .nan
                    var dst = [Float](repeating: -7, count: n + 20)
                    kernel(Int32(code), src, &dst, n, 0)
                    XCTAssert(dst[n / 2].isNaN, "\(name) \(kind) n \(n): NaN lost")
                    for i in 0..<n where i != n / 2 {
                        let e = naiveActivation(Double(src[i]), kind)
                        XCTAssertEqual(Double(dst[i]), e, accuracy: 1e-8 + 4e-7 * abs(e), "\(name) \(kind) n \(n) [\(i)]")
                    }
                    XCTAssert(dst[n...].allSatisfy { $0 == -7 }, "\(name) \(kind) n \(n): stored past the end")
                    var inPlace = src
                    inPlace.withUnsafeMutableBufferPointer { kernel(Int32(code), $0.baseAddress, $0.baseAddress, n, 0) }
                    XCTAssertEqual(inPlace.map(\.bitPattern), dst[0..<n].map(\.bitPattern), "\(name) \(kind) n \(n): in place")
                }
            }
        }
    }
}
