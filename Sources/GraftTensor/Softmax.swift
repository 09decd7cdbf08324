import Foundation

// Softmax, log-softmax and cross-entropy over the last dimension, computed per row in Double
// (rows are short — classes — and these feed the reported probabilities and the loss).

/// `softmax(x)` over the last dimension (any rank ≥ 1).
public func softmax(_ x: Tensor) throws -> Tensor {
    try rowwise("softmax", x) { row, out, k in
        let m = rowMax(row, k)
        var total = 0.0
        for j in 0..<k { total += Foundation.exp(Double(row[j]) - m) }
        for j in 0..<k { out[j] = Float(Foundation.exp(Double(row[j]) - m) / total) }
    }
}

/// `log_softmax(x)` over the last dimension (any rank ≥ 1).
public func logSoftmax(_ x: Tensor) throws -> Tensor {
    try rowwise("logSoftmax", x) { row, out, k in
        let lse = logSumExp(row, k)
        for j in 0..<k { out[j] = Float(Double(row[j]) - lse) }
    }
}

/// Gradient of `softmax` from its output y: ∂x = y ⊙ (∂y − Σ ∂y ⊙ y) per row.
public func softmaxBackward(gradOutput: Tensor, output y: Tensor) throws -> Tensor {
    try checkShape("softmaxBackward", "output", y, gradOutput.shape)
    guard let k = y.shape.last, k >= 1 else { throw TensorError.invalidShape(op: "softmaxBackward", shape: y.shape) }
    var dx = Tensor(kernelShape: y.shape)
    let dst = dx.mutablePointer()
    withExtendedLifetime((gradOutput, y)) {
        let g = gradOutput.pointer, p = y.pointer
        for r in 0..<(y.count / k) {
            var inner = 0.0
            for j in 0..<k { inner += Double(g[r * k + j]) * Double(p[r * k + j]) }
            for j in 0..<k { dst[r * k + j] = Float(Double(p[r * k + j]) * (Double(g[r * k + j]) - inner)) }
        }
    }
    return dx
}

/// Cross-entropy with mean reduction, as `torch.nn.functional.cross_entropy(logits, targets,
/// label_smoothing: ε)`: per sample `(1 − ε)·(−log p[y]) + ε/K · Σ_k −log p[k]`, averaged over N.
/// - Parameters:
///   - logits: (N, K).
///   - targets: N class indices in `0..<K`.
/// - Returns: the loss and ∂loss/∂logits = (softmax − ((1 − ε)·onehot + ε/K)) / N.
public func crossEntropy(
    logits: Tensor, targets: [Int], labelSmoothing: Float = 0) throws -> (loss: Float, gradLogits: Tensor) {
    try checkRank("crossEntropy", "logits (N, K)", logits, 2)
    let n = logits.shape[0], k = logits.shape[1]
    guard n >= 1, k >= 1, targets.count == n else {
        throw TensorError.shapeMismatch(
            op: "crossEntropy", detail: "logits \(logits.shape) with \(targets.count) targets")
    }
    guard labelSmoothing >= 0, labelSmoothing <= 1 else {
        throw TensorError.invalidArgument(
            op: "crossEntropy", detail: "label smoothing \(labelSmoothing) is outside [0, 1]")
    }
    for (i, t) in targets.enumerated() where t < 0 || t >= k {
        throw TensorError.labelOutOfRange(op: "crossEntropy", sample: i, label: t, classes: k)
    }
    let eps = Double(labelSmoothing)
    var grad = Tensor(kernelShape: logits.shape)
    let dst = grad.mutablePointer()
    var total = 0.0
    withExtendedLifetime(logits) {
        let src = logits.pointer
        for i in 0..<n {
            let row = src + i * k, out = dst + i * k
            let lse = logSumExp(row, k)
            var sumNegLog = 0.0
            for j in 0..<k { sumNegLog += lse - Double(row[j]) }
            let nll = lse - Double(row[targets[i]])
            total += (1 - eps) * nll + eps / Double(k) * sumNegLog
            for j in 0..<k {
                let target = (j == targets[i] ? 1 - eps : 0) + eps / Double(k)
                out[j] = Float((Foundation.exp(Double(row[j]) - lse) - target) / Double(n))
            }
        }
    }
    return (Float(total / Double(n)), grad)
}

private func rowMax(_ row: UnsafePointer<Float>, _ k: Int) -> Double {
    var m = -Double.infinity
    for j in 0..<k where Double(row[j]) > m || row[j].isNaN { m = Double(row[j]) }
    return m
}

func logSumExp(_ row: UnsafePointer<Float>, _ k: Int) -> Double {
    let m = rowMax(row, k)
    if !m.isFinite { return m }
    var total = 0.0
    for j in 0..<k { total += Foundation.exp(Double(row[j]) - m) }
    return m + Foundation.log(total)
}

/// Applies `body(row, out, K)` to every row of the last dimension.
private func rowwise(
    _ op: String, _ x: Tensor, _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
) throws -> Tensor {
    guard let k = x.shape.last, k >= 1 else { throw TensorError.invalidShape(op: op, shape: x.shape) }
    var out = Tensor(kernelShape: x.shape)
    let dst = out.mutablePointer()
    withExtendedLifetime(x) {
        let src = x.pointer
        for r in 0..<(x.count / k) { body(src + r * k, dst + r * k, k) }
    }
    return out
}
