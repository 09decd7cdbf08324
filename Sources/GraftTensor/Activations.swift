// Elementwise activations and their gradients, with torch's conventions:
// ReLU passes gradient where the input (equivalently the output) is > 0; ReLU6 where 0 < x < 6
// (hardtanh's strict bounds); SiLU uses σ(x)·(1 + x·(1 − σ(x))); sigmoid uses y·(1 − y).

/// `activation(x)` elementwise (any shape).
public func activation(_ x: Tensor, _ kind: Activation) -> Tensor {
    var out = Tensor(kernelShape: x.shape)
    let dst = out.mutablePointer()
    withExtendedLifetime(x) {
        let src = x.pointer
        Parallel.forRanges(x.count, grain: 32768) { r in
            activate(src + r.lowerBound, dst + r.lowerBound, r.count, kind)
        }
    }
    return out
}

/// `x = activation(x)` in place (copy-on-write: copies first only if the buffer is shared).
public func activateInPlace(_ x: inout Tensor, _ kind: Activation) {
    if kind == .none { return }
    let p = x.mutablePointer()
    Parallel.forRanges(x.count, grain: 32768) { r in
        activate(p + r.lowerBound, p + r.lowerBound, r.count, kind)
    }
}

/// max(x, 0) elementwise (NaN stays NaN).
public func relu(_ x: Tensor) -> Tensor { activation(x, .relu) }
/// min(max(x, 0), 6) elementwise.
public func relu6(_ x: Tensor) -> Tensor { activation(x, .relu6) }
/// x · sigmoid(x) elementwise (swish).
public func silu(_ x: Tensor) -> Tensor { activation(x, .silu) }
/// 1 / (1 + e^−x) elementwise.
public func sigmoid(_ x: Tensor) -> Tensor { activation(x, .sigmoid) }

/// ∂L/∂x of `activation(x)` from the activation's input `x`.
public func activationBackward(_ kind: Activation, gradOutput: Tensor, input x: Tensor) throws -> Tensor {
    try checkShape("activationBackward", "input", x, gradOutput.shape)
    switch kind {
    case .none: return gradOutput
    case .relu: return elementwise(gradOutput, x) { dy, x in Lanes.reluGradient(dy, x) }
    case .relu6:
        return elementwise(gradOutput, x) { dy, x in Lanes.relu6Gradient(dy, x) }
    case .silu:
        return elementwise(gradOutput, x) { dy, x in
            let s = FastMath.sigmoid(x)
            return dy * s * (1 + x * (1 - s))
        }
    case .sigmoid:
        return elementwise(gradOutput, x) { dy, x in
            let s = FastMath.sigmoid(x)
            return dy * s * (1 - s)
        }
    }
}

/// ∂L/∂x of `activation(x)` from the activation's output `y`, for the activations whose output
/// determines the gradient (all but SiLU, which needs its input).
public func activationBackward(_ kind: Activation, gradOutput: Tensor, output y: Tensor) throws -> Tensor {
    try checkShape("activationBackward", "output", y, gradOutput.shape)
    if kind == .silu {
        throw TensorError.invalidArgument(
            op: "activationBackward", detail: "SiLU's gradient needs its input, not its output")
    }
    switch kind {
    case .none, .silu: return gradOutput
    case .relu: return elementwise(gradOutput, y) { dy, y in Lanes.reluGradient(dy, y) }
    case .relu6:
        return elementwise(gradOutput, y) { dy, y in Lanes.relu6Gradient(dy, y) }
    case .sigmoid: return elementwise(gradOutput, y) { dy, y in dy * y * (1 - y) }
    }
}

/// `f(a, b)` elementwise over two same-shaped tensors (shape already checked), in parallel.
@inline(__always)
func elementwise(_ a: Tensor, _ b: Tensor, _ f: (Vec8, Vec8) -> Vec8) -> Tensor {
    var out = Tensor(kernelShape: a.shape)
    let dst = out.mutablePointer()
    withExtendedLifetime((a, b)) {
        let pa = a.pointer, pb = b.pointer
        Parallel.forRanges(a.count, grain: 32768) { r in
            map2(pa + r.lowerBound, pb + r.lowerBound, dst + r.lowerBound, r.count, f)
        }
    }
    return out
}
