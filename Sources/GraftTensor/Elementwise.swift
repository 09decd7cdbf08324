// Elementwise arithmetic: residual additions, squeeze-excitation channel scaling, scalar scaling.

/// `a + b` for same-shaped tensors, optionally followed by an activation (a residual block's
/// `relu(out + identity)` in one pass).
public func add(_ a: Tensor, _ b: Tensor, activation kind: Activation = .none) throws -> Tensor {
    try checkShape("add", "b", b, a.shape)
    let inline = ActivationKernels.inline(kind)
    var out = elementwise(a, b) { activated($0 + $1, inline) }
    if inline != kind { activateInPlace(&out, kind) }
    return out
}

/// `a += b` (then the activation) in place; `a` is copied first only if its buffer is shared.
public func addInPlace(_ a: inout Tensor, _ b: Tensor, activation kind: Activation = .none) throws {
    try checkShape("addInPlace", "b", b, a.shape)
    let dst = a.mutablePointer()
    withExtendedLifetime(b) {
        let src = b.pointer
        Parallel.forRanges(a.count, grain: 32768) { r in
            let d = dst + r.lowerBound, s = src + r.lowerBound
            switch kind {
            case .none: map2(d, s, d, r.count) { $0 + $1 }
            case .relu: map2(d, s, d, r.count) { x, y in activated(x + y, .relu) }
            default:
                let inline = ActivationKernels.inline(kind)
                map2(d, s, d, r.count) { x, y in activated(x + y, inline) }
                ActivationKernels.finish(kind, d, r.count)
            }
        }
    }
}

/// `x · s` for a scalar.
public func scaled(_ x: Tensor, by s: Float) -> Tensor {
    var out = Tensor(kernelShape: x.shape)
    let dst = out.mutablePointer()
    withExtendedLifetime(x) {
        let src = x.pointer
        Parallel.forRanges(x.count, grain: 32768) { r in
            map(src + r.lowerBound, dst + r.lowerBound, r.count) { $0 * s }
        }
    }
    return out
}

/// `x *= s` in place.
public func scaleInPlace(_ x: inout Tensor, by s: Float) {
    let p = x.mutablePointer()
    Parallel.forRanges(x.count, grain: 32768) { r in
        map(p + r.lowerBound, p + r.lowerBound, r.count) { $0 * s }
    }
}

/// Squeeze-excitation scaling: `y[n, c, :, :] = x[n, c, :, :] · s[n, c]`.
/// - Parameters:
///   - x: (N, C, H, W).
///   - s: (N, C) or (N, C, 1, 1).
public func channelScale(_ x: Tensor, _ s: Tensor) throws -> Tensor {
    let (n, c, plane) = try channelScaleShapes("channelScale", x, s)
    var out = Tensor(kernelShape: x.shape)
    let dst = out.mutablePointer()
    withExtendedLifetime((x, s)) {
        let src = x.pointer, scale = s.pointer
        Parallel.forRanges(n * c, grain: max(1, 16384 / max(plane, 1))) { r in
            for row in r {
                let k = scale[row]
                map(src + row * plane, dst + row * plane, plane) { $0 * k }
            }
        }
    }
    return out
}

/// Gradients of `channelScale`: ∂x = ∂y · s[n, c] and ∂s[n, c] = Σ_{h,w} ∂y · x (shaped like `s`).
public func channelScaleBackward(
    x: Tensor, scale s: Tensor, gradOutput: Tensor) throws -> (input: Tensor, scale: Tensor) {
    let (n, c, plane) = try channelScaleShapes("channelScaleBackward", x, s)
    try checkShape("channelScaleBackward", "gradOutput", gradOutput, x.shape)
    var dx = Tensor(kernelShape: x.shape)
    var ds = Tensor(kernelShape: s.shape)
    let dxp = dx.mutablePointer(), dsp = ds.mutablePointer()
    withExtendedLifetime((x, s, gradOutput)) {
        let xp = x.pointer, sp = s.pointer, dy = gradOutput.pointer
        Parallel.forRanges(n * c, grain: max(1, 16384 / max(plane, 1))) { r in
            for row in r {
                let k = sp[row]
                let g = dy + row * plane, xv = xp + row * plane
                map(g, dxp + row * plane, plane) { $0 * k }
                dsp[row] = dot(g, xv, plane)
            }
        }
    }
    return (dx, ds)
}

private func channelScaleShapes(_ op: String, _ x: Tensor, _ s: Tensor) throws -> (Int, Int, Int) {
    try checkRank(op, "x (N, C, H, W)", x, 4)
    let n = x.shape[0], c = x.shape[1]
    guard s.shape == [n, c] || s.shape == [n, c, 1, 1] else {
        throw TensorError.shapeMismatch(
            op: op, detail: "scale has shape \(s.shape), expected [\(n), \(c)] or [\(n), \(c), 1, 1]")
    }
    return (n, c, x.shape[2] * x.shape[3])
}

/// Σ a[i]·b[i] with vector partial sums.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    var acc = Vec8()
    var i = 0
    while i + 8 <= count {
        acc += loadVec8(a + i) * loadVec8(b + i)
        i += 8
    }
    var total = acc.sum()
    while i < count {
        total += a[i] * b[i]
        i += 1
    }
    return total
}
