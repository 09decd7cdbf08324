import GraftTensor

/// torch's `nn.MaxPool2d` (implicit −∞ padding, dilation, ceil_mode); backward routes each gradient
/// to the element that won its window.
public final class MaxPool2d: Module {
    public let params: Pool2dParams
    private var saved: (indices: [Int32], shape: [Int])?

    public init(_ params: Pool2dParams) { self.params = params }

    /// `MaxPool2d(kernelSize: 3, stride: 2, padding: 1, ceilMode: false)`; stride defaults to the kernel.
    public convenience init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1, ceilMode: Bool = false) {
        self.init(Pool2dParams(kernel: kernelSize, stride: stride, padding: padding, dilation: dilation, ceilMode: ceilMode))
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        guard recordsForBackward else { saved = nil; return try maxPool2d(x, params) }
        let r = try maxPool2dWithIndices(x, params)
        saved = (r.indices, x.shape)
        return r.output
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved else { throw NNError.noRecordedForward("MaxPool2d") }
        saved = nil
        guard needsInputGradient else { return nil }
        return try maxPool2dBackward(gradOutput: gradOutput, indices: s.indices, inputShape: s.shape)
    }
}

/// torch's `nn.AvgPool2d` (zero padding counted in the average, as `count_include_pad=True`).
public final class AvgPool2d: Module {
    public let params: Pool2dParams
    private var inputShape: [Int]?

    public init(_ params: Pool2dParams) { self.params = params }

    public convenience init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false) {
        self.init(Pool2dParams(kernel: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode))
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        inputShape = x.shape
        return try avgPool2d(x, params)
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let shape = inputShape else { throw NNError.noRecordedForward("AvgPool2d") }
        guard needsInputGradient else { return nil }
        return try avgPool2dBackward(gradOutput: gradOutput, inputShape: shape, params)
    }
}

/// torch's `nn.AdaptiveAvgPool2d` to any output size (global average pooling at 1×1).
public final class AdaptiveAvgPool2d: Module {
    public let size: (h: Int, w: Int)
    private var inputShape: [Int]?

    public init(_ size: Int) { self.size = (size, size) }
    public init(height: Int, width: Int) { size = (height, width) }

    public override func forward(_ x: Tensor) throws -> Tensor {
        inputShape = x.shape
        // At the output size already (VGG at 224): every window is one element.
        if x.rank == 4 && x.shape[2] == size.h && x.shape[3] == size.w { return x }
        if size == (1, 1) { return try globalAvgPool(x) }
        return try adaptiveAvgPool2d(x, outputSize: size)
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let shape = inputShape else { throw NNError.noRecordedForward("AdaptiveAvgPool2d") }
        guard needsInputGradient else { return nil }
        if size == (1, 1) { return try globalAvgPoolBackward(gradOutput: gradOutput, inputShape: shape) }
        return try adaptiveAvgPool2dBackward(gradOutput: gradOutput, inputShape: shape)
    }
}

/// `[N, …] → [N, product]` (`nn.Flatten()`, torch.flatten(x, 1)).
public final class Flatten: Module {
    private var inputShape: [Int]?

    public override init() {}

    public override func forward(_ x: Tensor) throws -> Tensor {
        inputShape = x.shape
        return try x.reshaped([x.shape[0], x.count / max(x.shape[0], 1)])
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let shape = inputShape else { throw NNError.noRecordedForward("Flatten") }
        return needsInputGradient ? try gradOutput.reshaped(shape) : nil
    }
}

/// `nn.Identity()`: passes its input through (a shortcut with nothing to do, a removed head).
public final class Identity: Module {
    public override init() {}
    public override func forward(_ x: Tensor) throws -> Tensor { x }
    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? { needsInputGradient ? gradOutput : nil }
}

/// Explicit zero padding (`nn.ZeroPad2d`; Keras ZeroPadding2D).
public final class ZeroPad2d: Module {
    public let top: Int, left: Int, bottom: Int, right: Int

    public init(top: Int, left: Int, bottom: Int, right: Int) {
        self.top = top
        self.left = left
        self.bottom = bottom
        self.right = right
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try pad2d(x, top: top, left: left, bottom: bottom, right: right)
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        needsInputGradient ? try pad2dBackward(gradOutput: gradOutput, top: top, left: left, bottom: bottom, right: right) : nil
    }
}
