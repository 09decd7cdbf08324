import CXNNPACK
import GraftNN
import GraftTensor

// The nodes the lowerings are made of: convolutions with BatchNorm folded, fully connected layers,
// activations, elementwise sums and products, pooling. Shapes are checked here, where the layout
// changes (weights go OHWI, maps NHWC).

extension XNNEmitter {
    /// A convolution (dense, grouped or depthwise) with `norm` folded into its weight and bias and
    /// `activation` applied by the output clamp when it is ReLU or ReLU6 (else after it).
    public func conv(_ c: Conv2d, norm: BatchNorm2d?, activation: Activation = .none, _ x: XNNValue) throws -> XNNValue {
        if try stopsAt(c, x) { return captured! }
        guard x.isMap, x.channels == c.inChannels else {
            throw XNNLoweringError.shapeMismatch("a \(c.inChannels)-channel convolution given \(x.shape)")
        }
        var weight = c.weight.value, bias = c.bias?.value
        if let norm {
            let folded = try foldBatchNorm(convWeight: weight, convBias: bias, gamma: norm.weight.value, beta: norm.bias.value,
                                           runningMean: norm.runningMean.value, runningVar: norm.runningVar.value, eps: norm.eps)
            (weight, bias) = (folded.weight, folded.bias)
        }
        let p = geometry(c, x)
        let (kh, kw) = (c.kernelSize.h, c.kernelSize.w)
        let spanH = x.height + p.padTop + p.padBottom - c.dilation.h * (kh - 1) - 1
        let spanW = x.width + p.padLeft + p.padRight - c.dilation.w * (kw - 1) - 1
        guard spanH >= 0, spanW >= 0 else { throw XNNLoweringError.shapeMismatch("a \(kh)×\(kw) convolution given \(x.shape)") }
        let shape = [spanH / c.stride.h + 1, spanW / c.stride.w + 1, c.outChannels]
        let onHost = Self.runsOnHost(activation)
        let y = onHost ? try exportedValue(shape) : try value(shape)
        let biasID = try constant(bias?.values ?? [Float](repeating: 0, count: c.outChannels), shape: [c.outChannels])
        let (lo, hi) = Self.bounds(activation) ?? (-.infinity, .infinity)
        let (o, perGroup) = (c.outChannels, c.inChannels / c.groups)
        let w = weight.values
        let status: xnn_status
        if c.groups == c.inChannels && c.groups > 1 {
            // Depthwise: torch's [C·m, 1, kh, kw] becomes [1, kh, kw, C·m].
            var filter = [Float](repeating: 0, count: o * kh * kw)
            for oc in 0..<o { for t in 0..<(kh * kw) { filter[t * o + oc] = w[oc * kh * kw + t] } }
            let filterID = try constant(filter, shape: [1, kh, kw, o])
            status = xnn_define_depthwise_convolution_2d(
                subgraph, UInt32(p.padTop), UInt32(p.padRight), UInt32(p.padBottom), UInt32(p.padLeft), UInt32(kh), UInt32(kw),
                UInt32(c.stride.h), UInt32(c.stride.w), UInt32(c.dilation.h), UInt32(c.dilation.w), UInt32(o / c.inChannels),
                c.inChannels, lo, hi, try use(x), filterID, biasID, y.id, 0)
        } else {
            // torch's [O, I/g, kh, kw] becomes [O, kh, kw, I/g].
            var filter = [Float](repeating: 0, count: w.count)
            for oc in 0..<o {
                for ic in 0..<perGroup {
                    for t in 0..<(kh * kw) { filter[(oc * kh * kw + t) * perGroup + ic] = w[(oc * perGroup + ic) * kh * kw + t] }
                }
            }
            let filterID = try constant(filter, shape: [o, kh, kw, perGroup])
            status = xnn_define_convolution_2d(
                subgraph, UInt32(p.padTop), UInt32(p.padRight), UInt32(p.padBottom), UInt32(p.padLeft), UInt32(kh), UInt32(kw),
                UInt32(c.stride.h), UInt32(c.stride.w), UInt32(c.dilation.h), UInt32(c.dilation.w), UInt32(c.groups),
                perGroup, o / c.groups, lo, hi, try use(x), filterID, biasID, y.id, 0)
        }
        try check(status, "a \(kh)×\(kw) convolution \(c.inChannels)→\(o)")
        if onHost { return try hostInPlace(y, activation: activation, Self.activationStep(activation, count: shape.reduce(1, *))) }
        return Self.bounds(activation) == nil ? try self.activation(activation, y) : y
    }

    /// The padding the convolution uses at this input size (TF "same" depends on it).
    private func geometry(_ c: Conv2d, _ x: XNNValue) -> Conv2dParams {
        guard c.padding == .tfSame else { return c.geometry(for: Self.placeholder4D) }
        return Conv2dParams.same(inputH: x.height, inputW: x.width, kernelH: c.kernelSize.h, kernelW: c.kernelSize.w,
                                 stride: c.stride, dilation: c.dilation, groups: c.groups)
    }

    /// A rank-4 tensor for asking a convolution its (input-independent) padding.
    private static let placeholder4D = try! Tensor(shape: [1, 1, 1, 1])

    /// `x · Wᵀ + b` on rows; a row flattened from a map takes the weight's columns in `H·W·C` order.
    public func linear(_ l: Linear, activation: Activation = .none, _ x: XNNValue) throws -> XNNValue {
        if try stopsAt(l, x) { return captured! }
        let rows = try flatten(x)
        guard rows.shape == [l.inFeatures] else {
            throw XNNLoweringError.shapeMismatch("a Linear of \(l.inFeatures) features given \(rows.shape)")
        }
        var w = l.weight.value.values
        if let map = rows.flattenedMap {
            let (h, wd, c) = (map[0], map[1], map[2])
            let torchOrder = w
            for o in 0..<l.outFeatures {
                for y in 0..<h { for xx in 0..<wd { for ch in 0..<c {
                    w[o * l.inFeatures + (y * wd + xx) * c + ch] = torchOrder[o * l.inFeatures + (ch * h + y) * wd + xx]
                } } }
            }
        }
        let filterID = try constant(w, shape: [l.outFeatures, l.inFeatures])
        let biasID = try constant(l.bias?.value.values ?? [Float](repeating: 0, count: l.outFeatures), shape: [l.outFeatures])
        let y = try value([l.outFeatures])
        let (lo, hi) = Self.bounds(activation) ?? (-.infinity, .infinity)
        try check(xnn_define_fully_connected(subgraph, lo, hi, try use(rows), filterID, biasID, y.id, 0), "a Linear \(l.inFeatures)→\(l.outFeatures)")
        return Self.bounds(activation) == nil ? try self.activation(activation, y) : y
    }

    public func activation(_ kind: Activation, _ x: XNNValue) throws -> XNNValue {
        switch kind {
        case .none: return x
        case .relu, .relu6:
            let (lo, hi) = Self.bounds(kind)!
            let y = try value(x.shape)
            try check(xnn_define_clamp(subgraph, lo, hi, try use(x), y.id, 0), "a clamp")
            return y
        case .sigmoid:
            let y = try value(x.shape)
            try check(xnn_define_sigmoid(subgraph, try use(x), y.id, 0), "a sigmoid")
            return y
        case .silu:
            return try hostActivation(.silu, x)
        case .hardswish:
            let y = try value(x.shape)
            try check(xnn_define_hardswish(subgraph, try use(x), y.id, 0), "a hardswish")
            return y
        case .hardsigmoid:
            // torch: relu6(x + 3) / 6.
            let shifted = try value(x.shape)
            try check(xnn_define_add2(subgraph, 0, 6, try use(x), try constant([3], shape: [1]), shifted.id, 0), "a shifted clamp")
            return try mul(shifted, try constantValue([1.0 / 6]))
        case .gelu:
            // This XNNPACK has no erf: Graft's GELU runs between two segments.
            return try hostActivation(.gelu, x)
        }
    }

    /// The activations XNNPACK has no single node for (SiLU would be a sigmoid node and a product node, two
    /// passes, the product costing twice the sigmoid; GELU has no erf), run by Graft's kernels between segments.
    static func runsOnHost(_ kind: Activation) -> Bool { kind == .silu || kind == .gelu }

    private func hostActivation(_ kind: Activation, _ x: XNNValue) throws -> XNNValue {
        try host([x], shape: x.shape, Self.activationStep(kind, count: x.shape.reduce(1, *)))
    }

    /// `kind` over a plan buffer of `count` floats per image, in chunks over the pool's threads.
    private static func activationStep(_ kind: Activation, count perImage: Int) -> XNNHostStep.Body {
        { inputs, output, batch, pool in
            let count = batch * perImage, grain = 16384
            XNNParallel.run(pool, (count + grain - 1) / grain) { i in
                let start = i * grain
                GraftTensor.activate(kind, inputs[0] + start, output + start, count: min(grain, count - start))
            }
        }
    }

    /// `a + b`, then `activation` (clamped in the node when it is ReLU or ReLU6); `b` may broadcast
    /// when `broadcasting` says so (a per-channel shift).
    public func add(_ a: XNNValue, _ b: XNNValue, activation: Activation = .none, broadcasting: Bool = false) throws -> XNNValue {
        guard a.shape == b.shape || broadcasting else { throw XNNLoweringError.shapeMismatch("adding \(a.shape) and \(b.shape)") }
        let y = try value(a.shape)
        let (lo, hi) = Self.bounds(activation) ?? (-.infinity, .infinity)
        try check(xnn_define_add2(subgraph, lo, hi, try use(a), try use(b), y.id, 0), "a sum")
        return Self.bounds(activation) == nil ? try self.activation(activation, y) : y
    }

    /// Elementwise product; `b` may broadcast (a per-channel scale `[1, 1, C]`, a scalar `[1]`).
    public func mul(_ a: XNNValue, _ b: XNNValue) throws -> XNNValue { try binary(xnn_define_multiply2, a, b, "a product") }

    /// `[H, W, C] → [1, 1, C]`.
    public func globalAveragePool(_ x: XNNValue) throws -> XNNValue {
        guard x.isMap else { throw XNNLoweringError.shapeMismatch("global pooling of \(x.shape)") }
        let y = try value([1, 1, x.channels])
        try check(xnn_define_global_average_pooling_2d(subgraph, -.infinity, .infinity, try use(x), y.id, 0), "a global average pool")
        return y
    }

    /// Maps become rows (`[1, 1, C]` is already `C` in both orders); rows stay.
    public func flatten(_ x: XNNValue) throws -> XNNValue {
        guard x.isMap else { return x }
        var y = try reshape(x, [x.shape.reduce(1, *)])
        if x.height * x.width > 1 { y.flattenedMap = x.shape }
        return y
    }

    /// The same elements in another shape (batch kept).
    public func reshape(_ x: XNNValue, _ shape: [Int]) throws -> XNNValue {
        let source = try use(x)
        let y = try value(shape)
        let dims = [batch] + shape
        try check(dims.withUnsafeBufferPointer { xnn_define_static_reshape(subgraph, dims.count, $0.baseAddress, source, y.id, 0) },
                  "a reshape to \(shape)")
        return y
    }
}
