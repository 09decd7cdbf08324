/// A fully connected layer, `y = act(x · Wᵀ + b)` as `torch.nn.functional.linear`.
/// - Parameters:
///   - x: (N, in).
///   - weight: (out, in).
///   - bias: (out), or nil.
///   - threadPolicy: how the product uses the cores (`.blas` only for comparisons).
/// - Returns: (N, out).
public func linear(
    _ x: Tensor, weight: Tensor, bias: Tensor? = nil, activation kind: Activation = .none,
    threadPolicy: Gemm.ThreadPolicy = .split
) throws -> Tensor {
    let (n, inFeatures, outFeatures) = try linearShapes("linear", x, weight)
    if let bias { try checkShape("linear", "bias", bias, [outFeatures]) }
    var out = Tensor(kernelShape: [n, outFeatures])
    let y = out.mutablePointer()
    withExtendedLifetime((x, weight, bias)) {
        Gemm.parallel(transA: false, transB: true, m: n, n: outFeatures, k: inFeatures, alpha: 1,
                      a: x.pointer, lda: inFeatures, b: weight.pointer, ldb: inFeatures,
                      beta: 0, c: y, ldc: outFeatures, threadPolicy: threadPolicy)
        if bias == nil && kind == .none { return }
        let b = bias?.pointer
        for row in 0..<n {
            let dst = y + row * outFeatures
            if let b {
                let inline = ActivationKernels.inline(kind)
                map2(dst, b, dst, outFeatures) { activated($0 + $1, inline) }
                ActivationKernels.finish(kind, dst, outFeatures)
            } else {
                activate(dst, dst, outFeatures, kind)
            }
        }
    }
    return out
}

/// Gradients of `linear` (without its activation): ∂x = ∂y · W, ∂W = ∂yᵀ · x, ∂b = Σ_n ∂y.
public func linearBackward(
    x: Tensor, weight: Tensor, gradOutput: Tensor, inputGradient: Bool = true,
    threadPolicy: Gemm.ThreadPolicy = .split
) throws -> (input: Tensor?, weight: Tensor, bias: Tensor) {
    let (n, inFeatures, outFeatures) = try linearShapes("linearBackward", x, weight)
    try checkShape("linearBackward", "gradOutput", gradOutput, [n, outFeatures])
    var dw = Tensor(kernelShape: weight.shape)
    var db = Tensor(kernelShape: [outFeatures])
    var dx: Tensor? = inputGradient ? Tensor(kernelShape: x.shape) : nil
    let dwp = dw.mutablePointer(), dbp = db.mutablePointer()
    let dxp = dx?.mutablePointer()
    withExtendedLifetime((x, weight, gradOutput)) {
        let dy = gradOutput.pointer
        Gemm.parallel(transA: true, transB: false, m: outFeatures, n: inFeatures, k: n, alpha: 1,
                      a: dy, lda: outFeatures, b: x.pointer, ldb: inFeatures, beta: 0, c: dwp, ldc: inFeatures,
                      threadPolicy: threadPolicy)
        if let dxp {
            Gemm.parallel(transA: false, transB: false, m: n, n: inFeatures, k: outFeatures, alpha: 1,
                          a: dy, lda: outFeatures, b: weight.pointer, ldb: inFeatures,
                          beta: 0, c: dxp, ldc: inFeatures, threadPolicy: threadPolicy)
        }
        for o in 0..<outFeatures {
            var total = 0.0
            for row in 0..<n { total += Double(dy[row * outFeatures + o]) }
            dbp[o] = Float(total)
        }
    }
    return (dx, dw, db)
}

private func linearShapes(_ op: String, _ x: Tensor, _ weight: Tensor) throws -> (Int, Int, Int) {
    try checkRank(op, "x (N, in)", x, 2)
    try checkRank(op, "weight (out, in)", weight, 2)
    guard x.shape[1] == weight.shape[1] else {
        throw TensorError.shapeMismatch(
            op: op, detail: "x has \(x.shape[1]) features, weight expects \(weight.shape[1])")
    }
    guard x.shape[0] >= 1, weight.shape[0] >= 1, x.shape[1] >= 1 else {
        throw TensorError.invalidShape(op: op, shape: x.shape + weight.shape)
    }
    try checkKernelSize(op: op, shapes: [x.shape, weight.shape, [x.shape[0], weight.shape[0]]])
    return (x.shape[0], x.shape[1], weight.shape[0])
}
