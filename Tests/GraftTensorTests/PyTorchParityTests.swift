import GraftCore
import GraftTensor
import GraftTestSupport
import XCTest

/// The kernels against torch 2.x itself, on the cases `tools/make_kernel_fixtures.py` wrote into
/// Fixtures/kernels/ (forward outputs and the gradients of Σ output ⊙ dy).
final class PyTorchParityTests: XCTestCase {
    func load(_ folder: String, _ name: String) throws -> Tensor {
        let path = TestPaths.fixture("kernels/\(folder)/\(name).npy")
        let array = try NpyArray(contentsOfFile: path)
        return try Tensor(shape: array.shape, values: array.values)
    }

    func ints(_ folder: String, _ name: String) throws -> [Int] {
        try load(folder, name).values.map { Int($0) }
    }

    func assertMatches(_ actual: Tensor, _ folder: String, _ name: String, atol: Double = 1e-5, rtol: Double = 1e-5,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try load(folder, name)
        XCTAssertEqual(actual.shape, expected.shape, "\(folder)/\(name)", file: file, line: line)
        assertClose(actual.values, expected.values, atol: atol, rtol: rtol, "\(folder)/\(name)", file: file, line: line)
    }

    func testConvolutions() throws {
        let cases = ["conv_3x3_s1", "conv_7x7_s2_stem", "conv_1x1", "conv_1x1_s2", "conv_3x3_s2_odd", "conv_grouped",
                     "conv_dilated", "conv_same_s2_asymmetric", "depthwise_3x3_s1", "depthwise_3x3_s2",
                     "depthwise_5x5_s2", "depthwise_5x5_same_s2", "conv_large_plane", "conv_3x3_winograd",
                     "conv_3x3_winograd_large"]
        for name in cases {
            let x = try load(name, "x"), w = try load(name, "w"), dy = try load(name, "dy")
            let hasBias = FileManager.default.fileExists(atPath: TestPaths.fixture("kernels/\(name)/b.npy"))
            let b = hasBias ? try load(name, "b") : nil
            let g = try ints(name, "geometry")
            let params = Conv2dParams(stride: (g[0], g[1]), padding: (g[2], g[3], g[4], g[5]),
                                      dilation: (g[6], g[7]), groups: g[8])
            try assertMatches(try conv2d(x, weight: w, bias: b, params: params), name, "y")
            let grads = try conv2dBackward(x: x, weight: w, gradOutput: dy, params: params)
            try assertMatches(try XCTUnwrap(grads.input), name, "dx")
            try assertMatches(grads.weight, name, "dw", atol: 2e-4)
            if hasBias { try assertMatches(grads.bias, name, "db", atol: 2e-4) }
        }
    }

    func testBatchNorm() throws {
        let c = "batchnorm_train"
        let x = try load(c, "x"), gamma = try load(c, "gamma"), beta = try load(c, "beta"), dy = try load(c, "dy")
        let (y, stats) = try batchNormTraining(x, gamma: gamma, beta: beta, eps: 1e-5)
        try assertMatches(y, c, "y")
        try assertMatches(stats.mean, c, "mean")
        try assertMatches(stats.variance, c, "var")
        // torch's running update: 0.9 · running + 0.1 · batch, with the unbiased variance.
        let runningVar = stats.unbiasedVariance.values.map { 0.9 * 1 + 0.1 * $0 }
        try assertMatches(try Tensor(shape: [runningVar.count], values: runningVar), c, "running_var")
        try assertMatches(scaled(stats.mean, by: 0.1), c, "running_mean")
        let grads = try batchNormBackward(x: x, gradOutput: dy, gamma: gamma, statistics: stats)
        try assertMatches(grads.input, c, "dx")
        try assertMatches(grads.gamma, c, "dgamma", atol: 3e-5)
        try assertMatches(grads.beta, c, "dbeta", atol: 3e-5)

        let f = "batchnorm_fold"
        let folded = try foldBatchNorm(convWeight: try load(f, "w"), convBias: nil, gamma: try load(f, "gamma"),
                                       beta: try load(f, "beta"), runningMean: try load(f, "mean"),
                                       runningVar: try load(f, "var"), eps: 1e-3)
        try assertMatches(try conv2d(try load(f, "x"), weight: folded.weight, bias: folded.bias,
                                     params: Conv2dParams(padding: 1)), f, "y")
    }

    func testLinear() throws {
        let c = "linear"
        let x = try load(c, "x"), w = try load(c, "w"), b = try load(c, "b")
        try assertMatches(try linear(x, weight: w, bias: b), c, "y")
        let grads = try linearBackward(x: x, weight: w, gradOutput: try load(c, "dy"))
        try assertMatches(try XCTUnwrap(grads.input), c, "dx")
        try assertMatches(grads.weight, c, "dw")
        try assertMatches(grads.bias, c, "db")
    }

    func testPools() throws {
        for c in ["maxpool_3x3_s2_ceil", "maxpool_stem", "maxpool_2x2_ceil"] {
            let x = try load(c, "x"), g = try ints(c, "geometry")
            let p = Pool2dParams(kernel: g[0], stride: g[1], padding: g[2], ceilMode: g[3] == 1)
            let r = try maxPool2dWithIndices(x, p)
            try assertMatches(r.output, c, "y", atol: 0)
            try assertMatches(try maxPool2d(x, p), c, "y", atol: 0)
            XCTAssertEqual(r.indices.map(Int.init), try ints(c, "indices"), c)
            try assertMatches(try maxPool2dBackward(gradOutput: try load(c, "dy"), indices: r.indices, inputShape: x.shape),
                              c, "dx")
        }
        for include in [true, false] {
            let c = "avgpool_ceil_" + (include ? "include_pad" : "exclude_pad")
            let x = try load(c, "x")
            let p = Pool2dParams(kernel: 3, stride: 2, padding: 1, ceilMode: true)
            try assertMatches(try avgPool2d(x, p, countIncludePad: include), c, "y")
            try assertMatches(try avgPool2dBackward(gradOutput: try load(c, "dy"), inputShape: x.shape, p,
                                                    countIncludePad: include), c, "dx")
        }
        for c in ["adaptive_5x9_to_7", "adaptive_15x13_to_7"] {
            let x = try load(c, "x")
            try assertMatches(try adaptiveAvgPool2d(x, outputSize: (7, 7)), c, "y")
            try assertMatches(try adaptiveAvgPool2dBackward(gradOutput: try load(c, "dy"), inputShape: x.shape), c, "dx")
        }
    }

    func testActivationsAndLoss() throws {
        for (name, kind) in [("silu", Activation.silu), ("sigmoid", .sigmoid), ("relu6", .relu6)] {
            let c = "activation_" + name
            let x = try load(c, "x")
            try assertMatches(activation(x, kind), c, "y")
            try assertMatches(try activationBackward(kind, gradOutput: try load(c, "dy"), input: x), c, "dx")
        }
        // torch's own boundary conventions at the kinks (±3) and 0, and large |x|, to 1e-6 (torch's GELU
        // uses an approximate erf on AVX2; Graft's is libm's).
        for (name, kind) in [("hardswish", Activation.hardswish), ("hardsigmoid", .hardsigmoid), ("gelu", .gelu)] {
            let c = "activation_" + name
            let x = try load(c, "x")
            try assertMatches(activation(x, kind), c, "y", atol: 1e-6, rtol: 1e-6)
            try assertMatches(try activationBackward(kind, gradOutput: try load(c, "dy"), input: x), c, "dx",
                              atol: 1e-6, rtol: 1e-6)
        }
        let c = "cross_entropy"
        let logits = try load(c, "logits")
        let (loss, grad) = try crossEntropy(logits: logits, targets: try ints(c, "targets"), labelSmoothing: 0.1)
        XCTAssertEqual(loss, try load(c, "loss")[flat: 0], accuracy: 1e-5)
        try assertMatches(grad, c, "grad")
        try assertMatches(try softmax(logits), c, "softmax")
        try assertMatches(try logSoftmax(logits), c, "log_softmax")
    }
}
