import CPanelKernels

/// What a convolution does to its raw output before storing it: `act(conv + bias[o] + residual)`.
/// `residual` (same shape as the output) fuses a residual block's identity addition.
struct ConvEpilogue {
    let bias: UnsafePointer<Float>?
    let residual: UnsafePointer<Float>?
    /// The output tensor's first element: a destination pointer minus this locates the residual.
    let output: UnsafeMutablePointer<Float>
    let activation: Activation

    /// Nothing to do after the GEMM.
    var isIdentity: Bool { bias == nil && residual == nil && activation == .none }

    /// The residual value(s) that belong at `dst`.
    @inline(__always)
    func residual(at dst: UnsafeMutablePointer<Float>) -> UnsafePointer<Float>? {
        residual.map { $0 + (dst - output) }
    }

    /// Applies the epilogue in place to `count` outputs of channel `channel` starting at `dst`.
    @inline(__always)
    func apply(_ dst: UnsafeMutablePointer<Float>, count: Int, channel: Int) {
        let b = bias?[channel] ?? 0
        if let r = residual(at: dst) {
            let inline = ActivationKernels.inline(activation)
            map2(dst, r, dst, count) { activated($0 + $1 + b, inline) }
            ActivationKernels.finish(activation, dst, count)
        } else {
            applyEpilogue(dst, count: count, bias: b, activation: activation)
        }
    }
}

/// Bias + activation applied in place to one channel's stretch of output (a row of the GEMM
/// result), right after it was computed and is still in cache.
@inline(__always)
func applyEpilogue(_ p: UnsafeMutablePointer<Float>, count: Int, bias: Float, activation: Activation) {
    if ActivationKernels.run(activation, p, p, count, bias: bias) { return }
    switch activation {
    case .none:
        if bias != 0 { mapInPlace(p, count) { $0 + bias } }
    case .relu:
        mapInPlace(p, count) { v in
            Lanes.relu(v + bias)
        }
    case .relu6:
        mapInPlace(p, count) { v in
            Lanes.relu6(v + bias)
        }
    case .silu:
        mapInPlace(p, count) { FastMath.silu($0 + bias) }
    case .sigmoid:
        mapInPlace(p, count) { FastMath.sigmoid($0 + bias) }
    case .hardswish:
        mapInPlace(p, count) { FastMath.hardswish($0 + bias) }
    case .hardsigmoid:
        mapInPlace(p, count) { FastMath.hardsigmoid($0 + bias) }
    case .gelu:
        mapInPlace(p, count) { FastMath.gelu($0 + bias) }
    }
}

/// Applies `f` in place to `count` floats at `p` (see `map`).
@inline(__always)
func mapInPlace(_ p: UnsafeMutablePointer<Float>, _ count: Int, _ f: (Vec8) -> Vec8) {
    map(p, p, count, f)
}

/// Writes `f(src)` to `dst` for `count` floats (the two may be the same), eight at a time; the tail
/// goes through a zero-padded vector so every element sees the same arithmetic.
@inline(__always)
func map(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int, _ f: (Vec8) -> Vec8) {
    var i = 0
    while i + 8 <= count {
        storeVec8(f(loadVec8(src + i)), dst + i)
        i += 8
    }
    if i < count {
        var v = Vec8()
        for j in 0..<(count - i) { v[j] = src[i + j] }
        let r = f(v)
        for j in 0..<(count - i) { dst[i + j] = r[j] }
    }
}

/// Writes `f(a, b)` to `dst` for `count` floats (dst may alias a or b).
@inline(__always)
func map2(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int,
    _ f: (Vec8, Vec8) -> Vec8
) {
    var i = 0
    while i + 8 <= count {
        storeVec8(f(loadVec8(a + i), loadVec8(b + i)), dst + i)
        i += 8
    }
    if i < count {
        var va = Vec8(), vb = Vec8()
        for j in 0..<(count - i) {
            va[j] = a[i + j]
            vb[j] = b[i + j]
        }
        let r = f(va, vb)
        for j in 0..<(count - i) { dst[i + j] = r[j] }
    }
}

/// dst[i] = f(a[i], b[i], c[i]) for `count` floats, eight at a time.
@inline(__always)
func map3(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
    _ count: Int, _ f: (Vec8, Vec8, Vec8) -> Vec8
) {
    var i = 0
    while i + 8 <= count {
        storeVec8(f(loadVec8(a + i), loadVec8(b + i), loadVec8(c + i)), dst + i)
        i += 8
    }
    if i < count {
        var va = Vec8(), vb = Vec8(), vc = Vec8()
        for j in 0..<(count - i) {
            va[j] = a[i + j]
            vb[j] = b[i + j]
            vc[j] = c[i + j]
        }
        let r = f(va, vb, vc)
        for j in 0..<(count - i) { dst[i + j] = r[j] }
    }
}

/// Applies an activation to `count` floats (src may equal dst).
func activate(
    _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int, _ activation: Activation) {
    if ActivationKernels.run(activation, src, dst, count) { return }
    switch activation {
    case .none:
        if UnsafePointer(dst) != src { dst.update(from: src, count: count) }
    case .relu:
        map(src, dst, count) { Lanes.relu($0) }
    case .relu6:
        map(src, dst, count) { Lanes.relu6($0) }
    case .silu:
        map(src, dst, count) { FastMath.silu($0) }
    case .sigmoid:
        map(src, dst, count) { FastMath.sigmoid($0) }
    case .hardswish:
        map(src, dst, count) { FastMath.hardswish($0) }
    case .hardsigmoid:
        map(src, dst, count) { FastMath.hardsigmoid($0) }
    case .gelu:
        map(src, dst, count) { FastMath.gelu($0) }
    }
}

/// CPanelKernels' SiLU, sigmoid and GELU (of x + bias) at the CPU's width with fused multiply-adds (FastMath's Swift
/// loops are eight lanes without them: 2–3× slower); the portable build keeps the Swift loops.
enum ActivationKernels {
    /// The kernel's code for `kind` on this CPU, nil where the Swift loops apply it (other activations,
    /// CPUs with neither AVX-512 nor AVX2 + FMA).
    @inline(__always)
    static func code(_ kind: Activation) -> Int32? {
        guard KernelISA.current != .portable else { return nil }
        switch kind {
        case .silu: return Int32(GRAFT_ACTIVATION_SILU)
        case .sigmoid: return Int32(GRAFT_ACTIVATION_SIGMOID)
        case .gelu: return Int32(GRAFT_ACTIVATION_GELU)
        default: return nil
        }
    }

    /// What of `kind` a Swift loop applies as it computes the activation's input: all of it, or none
    /// when the C kernel applies it afterwards (`finish`). Every path (a convolution's epilogue, a sum's,
    /// a Linear's, a BatchNorm's) then gives the plain activation's result bit for bit.
    @inline(__always)
    static func inline(_ kind: Activation) -> Activation { code(kind) == nil ? kind : .none }

    /// Applies `kind` in place to `count` floats when `inline(kind)` left it out.
    @inline(__always)
    static func finish(_ kind: Activation, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        _ = run(kind, p, p, count)
    }

    /// dst = kind(src + bias) on the C kernel; false, touching nothing, where `code(kind)` is nil.
    @inline(__always)
    static func run(_ kind: Activation, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int,
                    bias: Float = 0) -> Bool {
        guard let code = code(kind) else { return false }
        if KernelISA.current == .avx512 {
            graft_activate_avx512(code, src, dst, count, bias)
        } else {
            graft_activate_avx2(code, src, dst, count, bias)
        }
        return true
    }
}
