import GraftCore
import GraftTensor
import XCTest

/// A small deterministic generator (SplitMix64) so every test sees the same data on every run.
struct TestRandom {
    private var source: SplitMix64

    init(seed: UInt64) { source = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { source.next() }

    /// Uniform in [lo, hi).
    mutating func float(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }

    mutating func int(_ range: Range<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    mutating func tensor(_ shape: [Int], _ lo: Float = -1, _ hi: Float = 1) throws -> Tensor {
        let n = shape.reduce(1, *)
        return try Tensor(shape: shape, values: (0..<n).map { _ in float(lo, hi) })
    }
}

/// Asserts `actual ≈ expected` elementwise: |a − e| ≤ atol + rtol·|e|, reporting the worst element.
func assertClose(
    _ actual: [Float], _ expected: [Double], atol: Double = 1e-5, rtol: Double = 1e-4,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.count, expected.count, "count \(message())", file: file, line: line)
    guard actual.count == expected.count else { return }
    var worst = 0.0, worstIndex = -1
    for i in 0..<actual.count {
        let a = Double(actual[i]), e = expected[i]
        let excess = abs(a - e) - (atol + rtol * abs(e))
        if excess > worst || a.isNaN != e.isNaN {
            worst = a.isNaN != e.isNaN ? .infinity : excess
            worstIndex = i
        }
    }
    if worstIndex >= 0 {
        XCTFail("element \(worstIndex): \(actual[worstIndex]) vs \(expected[worstIndex]) \(message())",
                file: file, line: line)
    }
}

func assertClose(
    _ actual: [Float], _ expected: [Float], atol: Double = 1e-5, rtol: Double = 1e-4,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    assertClose(actual, expected.map(Double.init), atol: atol, rtol: rtol, message(), file: file, line: line)
}

extension Tensor {
    /// Element `i` in row-major order without copying the whole buffer (`values` copies).
    subscript(flat i: Int) -> Float { withUnsafeBufferPointer { $0[i] } }
}
