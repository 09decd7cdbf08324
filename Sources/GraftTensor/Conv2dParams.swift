/// The geometry of a 2-D convolution (everything except the tensors).
///
/// Padding is given per side so TensorFlow/Keras "same" padding, which puts the odd extra row or
/// column at the bottom/right, is expressed exactly (`Conv2dParams.same(...)`).
public struct Conv2dParams: Equatable, Hashable, Sendable {
    /// Vertical and horizontal step between output positions.
    public var strideH: Int
    public var strideW: Int
    /// Zero padding added above, left of, below and right of the input.
    public var padTop: Int
    public var padLeft: Int
    public var padBottom: Int
    public var padRight: Int
    /// Spacing between kernel taps (1 = dense).
    public var dilationH: Int
    public var dilationW: Int
    /// Input and output channels are split into this many independent groups.
    public var groups: Int

    /// Symmetric geometry, as `torch.nn.Conv2d(stride:, padding:, dilation:, groups:)` with ints.
    public init(stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        self.init(stride: (stride, stride), padding: (padding, padding, padding, padding),
                  dilation: (dilation, dilation), groups: groups)
    }

    /// Fully general geometry; padding is (top, left, bottom, right).
    public init(
        stride: (h: Int, w: Int), padding: (top: Int, left: Int, bottom: Int, right: Int),
        dilation: (h: Int, w: Int) = (1, 1), groups: Int = 1
    ) {
        strideH = stride.h
        strideW = stride.w
        padTop = padding.top
        padLeft = padding.left
        padBottom = padding.bottom
        padRight = padding.right
        dilationH = dilation.h
        dilationW = dilation.w
        self.groups = groups
    }

    /// TensorFlow "SAME" padding for an input of `inputH × inputW`: the output is
    /// ceil(input / stride) and the total padding `max((out − 1)·s + (k − 1)·d + 1 − in, 0)` is split
    /// with the smaller half on top/left.
    public static func same(
        inputH: Int, inputW: Int, kernelH: Int, kernelW: Int,
        stride: (h: Int, w: Int) = (1, 1), dilation: (h: Int, w: Int) = (1, 1), groups: Int = 1
    ) -> Conv2dParams {
        func split(_ input: Int, _ k: Int, _ s: Int, _ d: Int) -> (Int, Int) {
            let out = (input + s - 1) / max(s, 1)
            let total = max((out - 1) * s + (k - 1) * d + 1 - input, 0)
            return (total / 2, total - total / 2)
        }
        let (top, bottom) = split(inputH, kernelH, stride.h, dilation.h)
        let (left, right) = split(inputW, kernelW, stride.w, dilation.w)
        return Conv2dParams(stride: stride, padding: (top, left, bottom, right), dilation: dilation, groups: groups)
    }

    /// The output size as torch computes it, `floor((H + pt + pb − d·(k − 1) − 1) / s) + 1`, or nil
    /// when the arguments are invalid or the output would be empty.
    public func outputSize(inputH: Int, inputW: Int, kernelH: Int, kernelW: Int) -> (h: Int, w: Int)? {
        guard let h = Self.outputLength(inputH, kernelH, strideH, padTop, padBottom, dilationH),
              let w = Self.outputLength(inputW, kernelW, strideW, padLeft, padRight, dilationW)
        else { return nil }
        return (h, w)
    }

    static func outputLength(_ input: Int, _ k: Int, _ s: Int, _ p0: Int, _ p1: Int, _ d: Int) -> Int? {
        let limit = 1 << 24  // far beyond any image; keeps the arithmetic below overflow-free
        guard input >= 1, input <= limit, k >= 1, k <= limit, s >= 1, s <= limit, d >= 1, d <= limit,
              p0 >= 0, p0 <= limit, p1 >= 0, p1 <= limit
        else { return nil }
        let span = input + p0 + p1 - d * (k - 1) - 1
        guard span >= 0 else { return nil }
        return span / s + 1
    }
}

/// Activation fused into a kernel's output (applied while the output is still in cache).
public enum Activation: Equatable, Hashable, Sendable {
    case none
    case relu
    /// `min(max(x, 0), 6)`.
    case relu6
    /// `x · sigmoid(x)` (swish).
    case silu
    case sigmoid
    /// `x · relu6(x + 3) / 6` (MobileNetV3).
    case hardswish
    /// `relu6(x + 3) / 6`.
    case hardsigmoid
    /// `x · Φ(x) = x · (1 + erf(x / √2)) / 2`, the exact form (torch's `approximate='none'`).
    case gelu
}
