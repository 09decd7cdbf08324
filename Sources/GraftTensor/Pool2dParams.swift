/// The window geometry of a 2-D max or average pool, as torch's `MaxPool2d` / `AvgPool2d`.
public struct Pool2dParams: Equatable, Hashable, Sendable {
    /// Window size.
    public var kernelH: Int, kernelW: Int
    /// Step between windows.
    public var strideH: Int, strideW: Int
    /// Implicit padding on both sides (−∞ for max pooling, zeros for average pooling).
    public var padH: Int, padW: Int
    /// Spacing between window elements (max pooling only; must be 1 for average pooling).
    public var dilationH: Int, dilationW: Int
    /// Round the output size up instead of down (the last window must still start inside the
    /// input or its left padding).
    public var ceilMode: Bool

    /// Square windows; `stride` defaults to the kernel size, as in torch.
    public init(kernel: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1, ceilMode: Bool = false) {
        self.init(kernel: (kernel, kernel), stride: (stride ?? kernel, stride ?? kernel), padding: (padding, padding),
                  dilation: (dilation, dilation), ceilMode: ceilMode)
    }

    /// Rectangular windows with per-axis stride, padding and dilation.
    public init(kernel: (h: Int, w: Int), stride: (h: Int, w: Int), padding: (h: Int, w: Int) = (0, 0),
                dilation: (h: Int, w: Int) = (1, 1), ceilMode: Bool = false) {
        kernelH = kernel.h; kernelW = kernel.w
        strideH = stride.h; strideW = stride.w
        padH = padding.h; padW = padding.w
        dilationH = dilation.h; dilationW = dilation.w
        self.ceilMode = ceilMode
    }

    /// torch's `pooling_output_shape`: floor (or ceil) of
    /// `(in + 2·pad − dilation·(k − 1) − 1) / stride` plus one, where in ceil mode a last window that
    /// would start past the input and its left padding is dropped.
    static func outputLength(_ input: Int, _ k: Int, _ pad: Int, _ s: Int, _ d: Int, ceil: Bool) -> Int? {
        let limit = 1 << 24
        guard input >= 1, input <= limit, k >= 1, k <= limit, s >= 1, s <= limit, d >= 1, d <= limit,
              pad >= 0, pad <= k / 2 else { return nil }
        let span = input + 2 * pad - d * (k - 1) - 1 + (ceil ? s - 1 : 0)
        guard span >= 0 else { return nil }
        var out = span / s + 1
        if ceil && (out - 1) * s >= input + pad { out -= 1 }
        return out >= 1 ? out : nil
    }

    /// The output size, or nil when the geometry is invalid (torch also requires padding ≤ kernel/2).
    public func outputSize(inputH: Int, inputW: Int) -> (h: Int, w: Int)? {
        guard let h = Self.outputLength(inputH, kernelH, padH, strideH, dilationH, ceil: ceilMode),
              let w = Self.outputLength(inputW, kernelW, padW, strideW, dilationW, ceil: ceilMode)
        else { return nil }
        return (h, w)
    }

    /// The padding past the bottom and right a floor-mode pool needs to give `outputSize`: engines
    /// without torch's ceil mode (older ONNX runtimes, XNNPACK) pad instead; max pooling ignores it.
    public func endPaddingForFloorMode(inputH: Int, inputW: Int) -> (h: Int, w: Int)? {
        guard let out = outputSize(inputH: inputH, inputW: inputW) else { return nil }
        func extra(_ n: Int, _ o: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int) -> Int { max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p)) }
        return (extra(inputH, out.h, kernelH, strideH, padH, dilationH), extra(inputW, out.w, kernelW, strideW, padW, dilationW))
    }
}

/// Sizes of a pooling call, validated.
struct PoolGeometry {
    let planes: Int, inH: Int, inW: Int, outH: Int, outW: Int
    let p: Pool2dParams

    init(op: String, shape: [Int], _ p: Pool2dParams) throws {
        try checkRank(op, "x (N, C, H, W)", shape: shape, 4)
        guard let out = p.outputSize(inputH: shape[2], inputW: shape[3]) else {
            throw TensorError.invalidArgument(op: op, detail: "input \(shape) with \(p) gives no valid output")
        }
        try checkKernelSize(op: op, shapes: [shape])
        planes = shape[0] * shape[1]
        inH = shape[2]; inW = shape[3]
        outH = out.h; outW = out.w
        self.p = p
    }

    /// Floats in one −∞-bordered row buffer of the max-pool kernels: left padding, the input row,
    /// right padding, and room for the last window plus a full 16-wide load.
    var paddedRowWidth: Int { p.padW + inW + p.padW + (outW + 8) * p.strideW + p.kernelW + 16 }
}
