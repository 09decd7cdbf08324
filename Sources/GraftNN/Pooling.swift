import GraftTensor

/// Max pooling with torch's semantics (implicit −inf padding, ceil_mode); backward routes each
/// gradient to the element that won its window.
public final class MaxPool2d: LayerBase, Layer {
    public let params: Pool2dParams
    private var saved: (indices: [Int32], shape: [Int])?

    public init(_ params: Pool2dParams) { self.params = params }

    public func forward(_ x: Tensor) throws -> Tensor {
        guard recordsForBackward else { saved = nil; return try maxPool2d(x, params) }
        let r = try maxPool2dWithIndices(x, params)
        saved = (r.indices, x.shape)
        return r.output
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved else { throw NNError.noRecordedForward("MaxPool2d") }
        saved = nil
        guard needsInputGradient else { return nil }
        return try maxPool2dBackward(gradOutput: gradOutput, indices: s.indices, inputShape: s.shape)
    }
}

/// torch's AdaptiveAvgPool2d (VGG's 7×7 at any input size, averaging or repeating).
public final class AdaptiveAvgPool2d: LayerBase, Layer {
    public let size: (h: Int, w: Int)
    private var inputShape: [Int]?

    public init(height: Int, width: Int) { size = (height, width) }

    public func forward(_ x: Tensor) throws -> Tensor {
        inputShape = x.shape
        // At the output size already (VGG at 224): every window is one element.
        if x.rank == 4 && x.shape[2] == size.h && x.shape[3] == size.w { return x }
        return try adaptiveAvgPool2d(x, outputSize: size)
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        guard let shape = inputShape else { throw NNError.noRecordedForward("AdaptiveAvgPool2d") }
        guard needsInputGradient else { return nil }
        return try adaptiveAvgPool2dBackward(gradOutput: gradOutput, inputShape: shape)
    }
}

/// AdaptiveAvgPool2d(1) followed by flatten: `[N, C, H, W] → [N, C]`.
public final class GlobalAvgPoolFlatten: LayerBase, Layer {
    private var inputShape: [Int]?

    public override init() {}

    public func forward(_ x: Tensor) throws -> Tensor {
        inputShape = x.shape
        let pooled = try globalAvgPool(x)
        return try pooled.reshaped([x.shape[0], x.shape[1]])
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        guard let shape = inputShape else { throw NNError.noRecordedForward("GlobalAvgPoolFlatten") }
        guard needsInputGradient else { return nil }
        return try globalAvgPoolBackward(gradOutput: try gradOutput.reshaped([shape[0], shape[1], 1, 1]), inputShape: shape)
    }
}

/// `[N, …] → [N, product]` (torch.flatten(x, 1)).
public final class Flatten: LayerBase, Layer {
    private var inputShape: [Int]?

    public override init() {}

    public func forward(_ x: Tensor) throws -> Tensor {
        inputShape = x.shape
        return try x.reshaped([x.shape[0], x.count / max(x.shape[0], 1)])
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        guard let shape = inputShape else { throw NNError.noRecordedForward("Flatten") }
        return needsInputGradient ? try gradOutput.reshaped(shape) : nil
    }
}

/// Explicit zero padding (Keras ZeroPadding2D; TF "same" padding before a valid convolution or pool).
public final class ZeroPad2d: LayerBase, Layer {
    public let top: Int, left: Int, bottom: Int, right: Int

    public init(top: Int, left: Int, bottom: Int, right: Int) {
        self.top = top
        self.left = left
        self.bottom = bottom
        self.right = right
    }

    public func forward(_ x: Tensor) throws -> Tensor {
        try pad2d(x, top: top, left: left, bottom: bottom, right: right)
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        needsInputGradient ? try pad2dBackward(gradOutput: gradOutput, top: top, left: left, bottom: bottom, right: right) : nil
    }
}
