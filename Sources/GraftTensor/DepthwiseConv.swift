import CPanelKernels

/// Depthwise convolution (groups == C, one k×k filter per channel): a direct vectorized kernel,
/// since as a GEMM each channel would be a 1-row matrix product.
///
/// Each task zeroes one scratch plane with the padding around it, then for each of its channels
/// copies the input into the interior (the zero border stays), so the inner loop needs no bounds
/// tests: for 8-wide vectors of output (four at a time in the common shapes) it accumulates
/// `w[i, j] · x[row + i, col + j]` over the taps, then adds the bias and applies the activation
/// before the single store. Square stride-1 filters take a row-blocked C kernel at the CPU's width
/// (`RowBlocked`), and so do 3×3 and 5×5 at stride 2; where that kernel cannot run (planes of fewer than
/// four rows, CPUs without AVX2) these take loops with compile-time trip counts; everything else the
/// general loop.
enum DepthwiseConv {
    /// The padded plane of one channel: `rows × stride` floats, with enough zero slack on the right
    /// for whole 8-wide (or 16-wide, stride 2) loads past the last output column.
    struct PaddedPlane {
        let rows: Int
        let stride: Int

        init(_ g: ConvGeometry) {
            rows = g.inH + g.padTop + g.padBottom
            let readWidth = ((g.outW + 7) / 8 * 8) * g.strideW + (g.kernelW - 1) * g.dilationW + 16
            stride = max(g.inW + g.padLeft + g.padRight, readWidth)
        }

        var count: Int { rows * stride }

        /// Copies one input plane into the interior of `dst`, whose border is already zero.
        @inline(__always)
        func fillInterior(_ g: ConvGeometry, src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>) {
            for r in 0..<g.inH {
                (dst + (g.padTop + r) * stride + g.padLeft).update(from: src + r * g.inW, count: g.inW)
            }
        }
    }

    static func forward(_ g: ConvGeometry, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        y: UnsafeMutablePointer<Float>, epilogue e: ConvEpilogue) {
        switch e.activation {
        case .none: forward(g, x, weight, y, e) { $0 }
        case .relu: forward(g, x, weight, y, e) { Lanes.relu($0) }
        case .relu6: forward(g, x, weight, y, e) { Lanes.relu6($0) }
        case .silu: forward(g, x, weight, y, e) { FastMath.silu($0) }
        case .sigmoid: forward(g, x, weight, y, e) { FastMath.sigmoid($0) }
        case .hardswish: forward(g, x, weight, y, e) { FastMath.hardswish($0) }
        case .hardsigmoid: forward(g, x, weight, y, e) { FastMath.hardsigmoid($0) }
        case .gelu: forward(g, x, weight, y, e) { FastMath.gelu($0) }
        }
    }

    @inline(__always)
    static func forward(_ g: ConvGeometry, _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                        _ y: UnsafeMutablePointer<Float>, _ e: ConvEpilogue, _ act: (Vec8) -> Vec8) {
        let plane = PaddedPlane(g)
        let taps = g.kernelH * g.kernelW
        let planes = g.batch * g.inChannels
        let undilated = g.dilationH == 1 && g.dilationW == 1
        // Several small planes per task so a 7×7 stage does not pay one dispatch per channel.
        let perTask = max(1, min(64, 16384 / max(g.outPlane * taps, 1)))
        Parallel.forEach((planes + perTask - 1) / perTask) { task in
            let padded = Scratch.buffer(.plane, count: plane.count)
            padded.update(repeating: 0, count: plane.count)
            for index in (task * perTask)..<min(planes, (task + 1) * perTask) {
                let c = index % g.inChannels
                plane.fillInterior(g, src: x + index * g.inPlane, dst: padded)
                let src = UnsafePointer(padded), filter = weight + c * taps, b = e.bias?[c] ?? 0
                let out = Output(values: y + index * g.outPlane, residual: e.residual(at: y + index * g.outPlane))
                switch (g.kernelH, g.kernelW, g.strideH, g.strideW) {
                case let (k, kw, s, s2) where undilated && k == kw && s == s2 && RowBlocked.takes(k, stride: s, g):
                    RowBlocked.forward(k, stride: s, g, plane, src, filter, b, out.values)
                    if e.residual != nil || e.activation != .none {
                        ConvEpilogue(bias: nil, residual: e.residual, output: e.output, activation: e.activation)
                            .apply(out.values, count: g.outPlane, channel: c)
                    }
                case (3, 3, 1, 1) where undilated: square(3, 1, g, plane, src, filter, b, out, act)
                case (3, 3, 2, 2) where undilated: square(3, 2, g, plane, src, filter, b, out, act)
                case (5, 5, 1, 1) where undilated: square(5, 1, g, plane, src, filter, b, out, act)
                case (5, 5, 2, 2) where undilated: square(5, 2, g, plane, src, filter, b, out, act)
                default: general(g, plane, src, filter, b, out, act)
                }
            }
        }
    }

    /// Square undilated filters — any size at stride 1 (ConvNeXt's 7×7, EfficientNet's and MobileNet's
    /// 3×3 and 5×5), 3×3 and 5×5 at stride 2 — on CPanelKernels' row-blocked kernel at the CPU's full
    /// width. Each input row is loaded once for the four output rows it feeds, where the loops below
    /// load it once per filter row, and for 3/5/7 every loop is unrolled. ConvNeXt-Tiny's eighteen 7×7
    /// layers, `GraftKernelBench convnext`, alternated runs: 14–16 → 1.9–2.8 ms with AVX-512, 10.3 →
    /// 3.1 ms on AVX2; `graft bench --engine graft`: EfficientNet-B0 18.5 → 16.4 ms, MobileNetV3-Large
    /// 10.3 → 9.0 ms (keeping the own 3×3/5×5 loops for planes wider than 28 columns: 17.2 and 9.4 ms).
    /// The own loops remain for planes of fewer than four rows and CPUs without AVX2.
    enum RowBlocked {
        static let avx512 = KernelISA.current == .avx512
        static let isAvailable = KernelISA.current != .portable

        /// Whether it runs a square undilated k×k filter at `stride` (the same in both directions).
        @inline(__always)
        static func takes(_ k: Int, stride: Int, _ g: ConvGeometry) -> Bool {
            isAvailable && g.outH >= 4 && (stride == 1 || stride == 2 && (k == 3 || k == 5))
        }

        @inline(__always)
        static func forward(_ k: Int, stride: Int, _ g: ConvGeometry, _ plane: PaddedPlane,
                            _ padded: UnsafePointer<Float>, _ filter: UnsafePointer<Float>, _ bias: Float,
                            _ out: UnsafeMutablePointer<Float>) {
            switch (stride, avx512) {
            case (1, true): graft_depthwise_rows4_avx512(padded, plane.stride, filter, k, bias, out, g.outW, g.outH)
            case (1, false): graft_depthwise_rows4_avx2(padded, plane.stride, filter, k, bias, out, g.outW, g.outH)
            case (_, true): _ = graft_depthwise_rows4_avx512_s2(padded, plane.stride, filter, k, bias, out, g.outW, g.outH)
            case (_, false): _ = graft_depthwise_rows4_avx2_s2(padded, plane.stride, filter, k, bias, out, g.outW, g.outH)
            }
        }
    }

    /// Eight outputs of a row: input `base[t]` at `stride` spacing (1, 2 or any).
    @inline(__always)
    static func load8(_ base: UnsafePointer<Float>, stride: Int) -> Vec8 {
        switch stride {
        case 1: return loadVec8(base)
        case 2: return UnsafeRawPointer(base).loadUnaligned(as: SIMD16<Float>.self).evenHalf
        default:
            var v = Vec8()
            for lane in 0..<8 { v[lane] = base[lane * stride] }
            return v
        }
    }

    /// One channel's output plane and the residual plane added to it (if any).
    struct Output {
        let values: UnsafeMutablePointer<Float>
        let residual: UnsafePointer<Float>?

        /// Stores `act(v + residual)` into the first `count` (≤ 8) lanes at `offset`.
        @inline(__always)
        func store(_ v: Vec8, at offset: Int, count: Int, _ act: (Vec8) -> Vec8) {
            var sum = v
            if let residual {
                if count == 8 {
                    sum += loadVec8(residual + offset)
                } else {
                    for lane in 0..<count { sum[lane] += residual[offset + lane] }
                }
            }
            let r = act(sum)
            if count == 8 {
                storeVec8(r, values + offset)
            } else {
                for lane in 0..<count { values[offset + lane] = r[lane] }
            }
        }
    }

    /// k×k, undilated, equal strides `s`; `k` and `s` are literals at the call sites, so after
    /// inlining the tap loops have constant trip counts and unroll.
    ///
    /// The plane's output is taken as 8-wide vectors in row-major order (a row's last one partial),
    /// four at a time: four independent accumulators keep the FMA units busy where one chain of k²
    /// dependent FMAs would wait on each result. Narrow planes (7 or 14 columns) get their four
    /// vectors from consecutive rows the same way. A last group of fewer than four repeats its last
    /// vector and stores it once.
    @inline(__always)
    static func square(_ k: Int, _ s: Int, _ g: ConvGeometry, _ plane: PaddedPlane, _ padded: UnsafePointer<Float>,
                       _ filter: UnsafePointer<Float>, _ bias: Float, _ out: Output, _ act: (Vec8) -> Vec8) {
        withUnsafeTemporaryAllocation(of: Vec8.self, capacity: 25) { w in
            for t in 0..<(k * k) { w[t] = Vec8(repeating: filter[t]) }
            let b = Vec8(repeating: bias)
            let vectors = g.outH * ((g.outW + 7) / 8)
            var cursor = VectorCursor(outW: g.outW, outH: g.outH)
            var v = 0
            while v < vectors {
                let last = vectors - 1
                let q0 = cursor.next(padded, s, plane.stride), q1 = cursor.next(padded, s, plane.stride)
                let q2 = cursor.next(padded, s, plane.stride), q3 = cursor.next(padded, s, plane.stride)
                var a0 = b, a1 = b, a2 = b, a3 = b
                for i in 0..<k {
                    for j in 0..<k {
                        let tap = w[i * k + j], d = i * plane.stride + j
                        a0 = PanelGemm.madd(a0, tap, load8(q0.input + d, stride: s))
                        a1 = PanelGemm.madd(a1, tap, load8(q1.input + d, stride: s))
                        a2 = PanelGemm.madd(a2, tap, load8(q2.input + d, stride: s))
                        a3 = PanelGemm.madd(a3, tap, load8(q3.input + d, stride: s))
                    }
                }
                out.store(a0, at: q0.output, count: q0.count, act)
                if v + 1 <= last { out.store(a1, at: q1.output, count: q1.count, act) }
                if v + 2 <= last { out.store(a2, at: q2.output, count: q2.count, act) }
                if v + 3 <= last { out.store(a3, at: q3.output, count: q3.count, act) }
                v += 4
            }
        }
    }

    /// Walks an output plane's 8-wide vectors in row-major order; stays on the last one at the end.
    struct VectorCursor {
        let outW: Int, outH: Int
        var row = 0, column = 0

        init(outW: Int, outH: Int) { self.outW = outW; self.outH = outH }

        /// The current vector's top-left input tap, output offset and real lanes; then moves on.
        @inline(__always)
        mutating func next(_ padded: UnsafePointer<Float>, _ s: Int, _ planeStride: Int)
            -> (input: UnsafePointer<Float>, output: Int, count: Int) {
            let here = (padded + row * s * planeStride + column * s, row * outW + column, min(8, outW - column))
            if column + 8 < outW {
                column += 8
            } else if row + 1 < outH {
                column = 0
                row += 1
            }
            return here
        }
    }

    /// Any kernel size, stride and dilation.
    static func general(_ g: ConvGeometry, _ plane: PaddedPlane, _ padded: UnsafePointer<Float>,
                        _ filter: UnsafePointer<Float>, _ bias: Float, _ out: Output, _ act: (Vec8) -> Vec8) {
        let kh = g.kernelH, kw = g.kernelW, taps = kh * kw
        withUnsafeTemporaryAllocation(of: Int.self, capacity: taps) { offsets in
            withUnsafeTemporaryAllocation(of: Vec8.self, capacity: taps) { weights in
                for i in 0..<kh {
                    for j in 0..<kw {
                        offsets[i * kw + j] = i * g.dilationH * plane.stride + j * g.dilationW
                        weights[i * kw + j] = Vec8(repeating: filter[i * kw + j])
                    }
                }
                let b = Vec8(repeating: bias)
                for oh in 0..<g.outH {
                    let rowBase = padded + oh * g.strideH * plane.stride
                    var ow = 0
                    // Four vectors of the row at a time where it has them: four independent accumulators,
                    // where one chain of k² dependent FMAs waits on each result (ConvNeXt's 7×7 at 96 × 56²:
                    // 1.78–1.93 → 1.52–1.62 ms, alternated runs).
                    let step = 8 * g.strideW
                    while ow + 32 <= g.outW {
                        let base = rowBase + ow * g.strideW
                        var a0 = b, a1 = b, a2 = b, a3 = b
                        for t in 0..<taps {
                            let p = base + offsets[t], w = weights[t]
                            a0 = PanelGemm.madd(a0, w, load8(p, stride: g.strideW))
                            a1 = PanelGemm.madd(a1, w, load8(p + step, stride: g.strideW))
                            a2 = PanelGemm.madd(a2, w, load8(p + 2 * step, stride: g.strideW))
                            a3 = PanelGemm.madd(a3, w, load8(p + 3 * step, stride: g.strideW))
                        }
                        let at = oh * g.outW + ow
                        out.store(a0, at: at, count: 8, act)
                        out.store(a1, at: at + 8, count: 8, act)
                        out.store(a2, at: at + 16, count: 8, act)
                        out.store(a3, at: at + 24, count: 8, act)
                        ow += 32
                    }
                    while ow < g.outW {
                        let base = rowBase + ow * g.strideW
                        var acc = b
                        for t in 0..<taps { acc = PanelGemm.madd(acc, weights[t], load8(base + offsets[t], stride: g.strideW)) }
                        out.store(acc, at: oh * g.outW + ow, count: min(8, g.outW - ow), act)
                        ow += 8
                    }
                }
            }
        }
    }
}

/// An activation on one vector.
@inline(__always)
func activated(_ x: Vec8, _ activation: Activation) -> Vec8 {
    switch activation {
    case .none: return x
    case .relu: return Lanes.relu(x)
    case .relu6: return Lanes.relu6(x)
    case .silu: return FastMath.silu(x)
    case .sigmoid: return FastMath.sigmoid(x)
    case .hardswish: return FastMath.hardswish(x)
    case .hardsigmoid: return FastMath.hardsigmoid(x)
    case .gelu: return FastMath.gelu(x)
    }
}
