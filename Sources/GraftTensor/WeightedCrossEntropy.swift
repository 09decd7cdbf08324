import Foundation

/// Cross-entropy with class weights, as `torch.nn.functional.cross_entropy(logits, targets, weight: w,
/// label_smoothing: ε)` with mean reduction: `(1 − ε)·Σᵢ w[yᵢ]·(−log pᵢ[yᵢ]) / W + ε/K · Σᵢ Σₖ w[k]·(−log pᵢ[k]) / W`
/// where `W = Σᵢ w[yᵢ]` (torch normalizes both terms by the targets' weights).
/// - Returns: the loss and ∂loss/∂logits = ((1 − ε)·w[yᵢ]·(pᵢ − onehot) + ε/K·(pᵢ·Σw − w)) / W.
public func crossEntropy(
    logits: Tensor, targets: [Int], labelSmoothing: Float = 0, classWeights w: [Float]) throws -> (loss: Float, gradLogits: Tensor) {
    try checkRank("crossEntropy", "logits (N, K)", logits, 2)
    let n = logits.shape[0], k = logits.shape[1]
    guard n >= 1, k >= 1, targets.count == n, w.count == k, w.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
        throw TensorError.shapeMismatch(op: "crossEntropy", detail: "logits \(logits.shape), \(targets.count) targets, \(w.count) class weights")
    }
    guard labelSmoothing >= 0, labelSmoothing <= 1 else {
        throw TensorError.invalidArgument(op: "crossEntropy", detail: "label smoothing \(labelSmoothing) is outside [0, 1]")
    }
    for (i, t) in targets.enumerated() where t < 0 || t >= k {
        throw TensorError.labelOutOfRange(op: "crossEntropy", sample: i, label: t, classes: k)
    }
    let eps = Double(labelSmoothing)
    let weights = w.map(Double.init), sumW = weights.reduce(0, +)
    let total = targets.reduce(0.0) { $0 + weights[$1] }
    guard total > 0 else { throw TensorError.invalidArgument(op: "crossEntropy", detail: "the targets' class weights sum to 0") }
    var grad = Tensor(kernelShape: logits.shape)
    let dst = grad.mutablePointer()
    var loss = 0.0
    withExtendedLifetime(logits) {
        for i in 0..<n {
            let row = logits.pointer + i * k, out = dst + i * k, y = targets[i]
            let lse = logSumExp(row, k)
            var smooth = 0.0
            for j in 0..<k { smooth += weights[j] * (lse - Double(row[j])) }
            loss += (1 - eps) * weights[y] * (lse - Double(row[y])) + eps / Double(k) * smooth
            for j in 0..<k {
                let p = Foundation.exp(Double(row[j]) - lse)
                let hard = (1 - eps) * weights[y] * (p - (j == y ? 1 : 0))
                out[j] = Float((hard + eps / Double(k) * (p * sumW - weights[j])) / total)
            }
        }
    }
    return (Float(loss / total), grad)
}

/// timm's SoftTargetCrossEntropy: `mean over i of Σₖ −tᵢₖ·log pᵢₖ` for soft targets (MixUp/CutMix).
/// - Returns: the loss and ∂loss/∂logits = (pᵢ·Σₖtᵢₖ − tᵢ) / N.
public func softTargetCrossEntropy(logits: Tensor, targets: Tensor) throws -> (loss: Float, gradLogits: Tensor) {
    try checkRank("softTargetCrossEntropy", "logits (N, K)", logits, 2)
    try checkShape("softTargetCrossEntropy", "targets", targets, logits.shape)
    let n = logits.shape[0], k = logits.shape[1]
    guard n >= 1, k >= 1 else { throw TensorError.invalidShape(op: "softTargetCrossEntropy", shape: logits.shape) }
    var grad = Tensor(kernelShape: logits.shape)
    let dst = grad.mutablePointer()
    var loss = 0.0
    withExtendedLifetime((logits, targets)) {
        for i in 0..<n {
            let row = logits.pointer + i * k, t = targets.pointer + i * k, out = dst + i * k
            let lse = logSumExp(row, k)
            var mass = 0.0
            for j in 0..<k { loss += Double(t[j]) * (lse - Double(row[j])); mass += Double(t[j]) }
            for j in 0..<k { out[j] = Float((Foundation.exp(Double(row[j]) - lse) * mass - Double(t[j])) / Double(n)) }
        }
    }
    return (Float(loss / Double(n)), grad)
}

/// The mean of the rows of a `[V, K]` tensor (test-time augmentation's averaged probabilities), summed
/// in float32 row after row and divided by V, as `probs.mean(0)` does for a few rows.
public func meanOfRows(_ t: Tensor) throws -> [Float] {
    try checkRank("meanOfRows", "(V, K)", t, 2)
    let v = t.shape[0], k = t.shape[1]
    guard v >= 1 else { throw TensorError.invalidShape(op: "meanOfRows", shape: t.shape) }
    let x = t.values
    var sum = [Float](repeating: 0, count: k)
    for r in 0..<v { for j in 0..<k { sum[j] += x[r * k + j] } }
    return sum.map { $0 / Float(v) }
}
