import GraftTensor

/// Layers applied one after another; backward runs them in reverse and stops as soon as no earlier
/// layer needs a gradient.
public final class Sequential: LayerBase, Layer {
    public let layers: [Layer]

    public init(_ layers: [Layer]) { self.layers = layers }

    public var children: [Layer] { layers }

    public func forward(_ x: Tensor) throws -> Tensor {
        var h = x
        for layer in layers { h = try layer.forward(h) }
        return h
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        var g = gradOutput
        for layer in layers.reversed() {
            // A layer that recorded nothing has no trainable parameter at or before it: stop here.
            if !layer.recordsForBackward { return nil }
            guard let next = try layer.backward(g) else { return nil }
            g = next
        }
        return needsInputGradient ? g : nil
    }
}

/// Squeeze-and-excitation: global average → 1×1 conv → activation → 1×1 conv → sigmoid → channel scale.
public final class SqueezeExcitation: LayerBase, Layer {
    public let reduce: ConvNormActivation
    public let expand: ConvNormActivation
    private var saved: (x: Tensor, scale: Tensor)?

    public init(reduce: ConvNormActivation, expand: ConvNormActivation) {
        self.reduce = reduce
        self.expand = expand
    }

    public var children: [Layer] { [reduce, expand] }

    public func forward(_ x: Tensor) throws -> Tensor {
        let s = try expand.forward(try reduce.forward(try globalAvgPool(x)))
        saved = recordsForBackward ? (x, s) : nil
        return try channelScale(x, s)
    }

    public func backward(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved else { throw NNError.noRecordedForward("SqueezeExcitation") }
        saved = nil
        let g = try channelScaleBackward(x: s.x, scale: s.scale, gradOutput: gradOutput)
        var dx = g.input
        if let dScale = try expand.backward(g.scale), let dPooled = try reduce.backward(dScale) {
            try addInPlace(&dx, try globalAvgPoolBackward(gradOutput: dPooled, inputShape: s.x.shape))
        }
        return needsInputGradient ? dx : nil
    }

    public func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        // The squeeze path's gradient flows back into x, so its convs need input gradients whenever
        // anything before the block trains.
        let trainable = trainableBefore || hasTrainableParameters
        recordsForBackward = trainable
        reduce.recordsForBackward = trainable
        expand.recordsForBackward = trainable
        reduce.needsInputGradient = trainableBefore
        expand.needsInputGradient = trainable
        return trainable
    }
}
