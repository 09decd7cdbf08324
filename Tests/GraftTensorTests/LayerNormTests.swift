import GraftTensor
import XCTest

/// `layerNormChannels` against a Double reference, on planes that split into several pixel pieces per
/// image (the last one short) and on planes of one piece, at one and at two threads: the split must
/// not change a pixel's statistics.
final class LayerNormTests: XCTestCase {
    func testChannelsMatchTheDoubleReferenceOnEverySplit() throws {
        var random = TestRandom(seed: 11)
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        for shape in [[2, 5, 9, 31], [1, 12, 56, 56], [1, 7, 7, 7], [3, 3, 1, 1]] {
            let (n, c, plane) = (shape[0], shape[1], shape[2] * shape[3])
            let x = try random.tensor(shape, -3, 5)
            let gamma = try random.tensor([c], 0.5, 1.5), beta = try random.tensor([c])
            let xs = x.values, g = gamma.values, b = beta.values
            var expected = [Double](repeating: 0, count: xs.count), means = [Double](), rstds = [Double]()
            for i in 0..<n {
                for p in 0..<plane {
                    let column = (0..<c).map { Double(xs[(i * c + $0) * plane + p]) }
                    let mean = column.reduce(0, +) / Double(c)
                    let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)
                    let rstd = 1 / (variance + 1e-6).squareRoot()
                    means.append(mean)
                    rstds.append(rstd)
                    for ch in 0..<c { expected[(i * c + ch) * plane + p] = (column[ch] - mean) * rstd * Double(g[ch]) + Double(b[ch]) }
                }
            }
            var outputs: [[Float]] = []
            for threads in [1, 2] {
                Parallel.threads = threads
                let (y, stats) = try layerNormChannels(x, gamma: gamma, beta: beta, eps: 1e-6)
                assertClose(y.values, expected, atol: 1e-5, rtol: 1e-5, "\(shape), \(threads) threads")
                assertClose(stats.mean, means, atol: 1e-6, rtol: 1e-6, "means \(shape)")
                assertClose(stats.rstd, rstds, atol: 1e-6, rtol: 1e-5, "rstd \(shape)")
                outputs.append(y.values)
            }
            XCTAssertEqual(outputs[0], outputs[1], "\(shape): one and two threads agree bit for bit")
        }
    }
}
