// Elementwise activations and their gradients, with torch's conventions:
// ReLU passes gradient where the input (equivalently the output) is > 0; ReLU6 where 0 < x < 6
// (hardtanh's strict bounds); SiLU uses σ(x)·(1 + x·(1 − σ(x))); sigmoid uses y·(1 − y);
// hardswish is 0 for x ≤ −3, 1 for x ≥ 3 and x/3 + 1/2 between; hardsigmoid 1/6 for −3 < x < 3,
// else 0; GELU Φ(x) + x·φ(x).

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

/// `activation` over `count` floats from `src` to `dst` (which may be `src`) on the calling thread: for
/// engines that spread raw buffers over thread pools of their own.
public func activate(_ kind: Activation, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    activate(src, dst, count, kind)
}

/// `dst[i] += src[i]` for `count` floats on the calling thread (raw buffers, as `activate(_:_:_:count:)`).
public func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
    addInPlace(dst, src, count)
}

/// max(x, 0) elementwise (NaN stays NaN).
public func relu(_ x: Tensor) -> Tensor { activation(x, .relu) }
/// min(max(x, 0), 6) elementwise.
public func relu6(_ x: Tensor) -> Tensor { activation(x, .relu6) }
/// x · sigmoid(x) elementwise (swish).
public func silu(_ x: Tensor) -> Tensor { activation(x, .silu) }
/// 1 / (1 + e^−x) elementwise.
public func sigmoid(_ x: Tensor) -> Tensor { activation(x, .sigmoid) }
/// x · relu6(x + 3) / 6 elementwise.
public func hardswish(_ x: Tensor) -> Tensor { activation(x, .hardswish) }
/// relu6(x + 3) / 6 elementwise.
public func hardsigmoid(_ x: Tensor) -> Tensor { activation(x, .hardsigmoid) }
/// x · Φ(x) elementwise (exact erf form).
public func gelu(_ x: Tensor) -> Tensor { activation(x, .gelu) }

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
    case .hardswish: return elementwise(gradOutput, x) { dy, x in Lanes.hardswishGradient(dy, x) }
    case .hardsigmoid: return elementwise(gradOutput, x) { dy, x in Lanes.hardsigmoidGradient(dy, x) }
    case .gelu: return elementwise(gradOutput, x) { dy, x in FastMath.geluGradient(dy, x) }
    }
}

/// ∂L/∂x of `activation(x)` from the activation's output `y`, for the activations whose output
/// determines the gradient (ReLU, ReLU6, sigmoid; SiLU, hardswish, hardsigmoid and GELU need their input).
public func activationBackward(_ kind: Activation, gradOutput: Tensor, output y: Tensor) throws -> Tensor {
    try checkShape("activationBackward", "output", y, gradOutput.shape)
    switch kind {
    case .none: return gradOutput
    case .relu: return elementwise(gradOutput, y) { dy, y in Lanes.reluGradient(dy, y) }
    case .relu6:
        return elementwise(gradOutput, y) { dy, y in Lanes.relu6Gradient(dy, y) }
    case .sigmoid: return elementwise(gradOutput, y) { dy, y in dy * y * (1 - y) }
    case .silu, .hardswish, .hardsigmoid, .gelu:
        throw TensorError.invalidArgument(
            op: "activationBackward", detail: "the gradient of \(kind) needs its input, not its output")
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
