import GraftModels
import GraftNN
import GraftONNX

// ConvNeXt, RegNet X / Y and ShuffleNet V2 as ONNX operators.

extension ConvNeXt: ONNXEmittable {
    /// The classifier's LayerNorm runs on the pooled `[N, C, 1, 1]` map, as in torchvision.
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        try e.emit(classifier, try e.emit(avgpool, try e.emit(features, x)))
    }
}

extension CNBlock: ONNXEmittable {
    /// `x + layer_scale · block(x)`.
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let y = try e.emit(block, x)
        let scale = ONNXValue(name: e.initializer(layerScale, fallback: "layer_scale"), shape: layerScale.shape)
        return try e.add(e.mul(y, scale), x)
    }
}

extension PointwiseLinear: ONNXEmittable {
    /// A Linear over channels is a 1×1 convolution in NCHW (Graft's layout throughout the block).
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let base = e.key(weight).map { String($0.dropLast(".weight".count)) } ?? "pointwise"
        let out = weight.shape[0]
        let kernel = try weight.value.reshaped(weight.shape + [1, 1])
        return e.node("Conv", [x.name, e.initializer(base + ".weight_1x1", kernel), e.initializer(bias, fallback: base + ".bias")],
                      shape: [out, x.height, x.width], name: base, [("kernel_shape", .ints([1, 1]))])
    }
}

extension Permute: ONNXEmittable {
    /// A marker: Graft's ConvNeXt block stays NCHW, so there is nothing to move.
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue { x }
}

extension RegNet: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        try e.linear(fc, e.flatten(try e.emit(avgpool, try e.emit(trunkOutput, try e.emit(stem, x)))))
    }
}

extension ResBottleneckBlock: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let shortcut = try proj.map { try e.emit($0, x) } ?? x
        return e.activation(.relu, try e.add(try e.emit(f, x), shortcut))
    }
}

extension ShuffleNetV2: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        var h = try e.emit(maxpool, try e.emit(conv1, x))
        for stage in stages { h = try e.emit(stage, h) }
        return try e.linear(fc, e.flatten(e.globalAveragePool(try e.emit(conv5, h))))
    }
}

extension ShuffleInvertedResidual: ONNXEmittable {
    /// Stride 1: the first half of the channels passes, the second goes through `branch2`; stride 2:
    /// both branches see the whole input. Then concatenation and a channel shuffle with 2 groups.
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let joined: ONNXValue
        if stride == 1 {
            let half = x.channels / 2
            let kept = e.sliceChannels(x, 0..<half), rest = e.sliceChannels(x, half..<x.channels)
            joined = try e.concat([kept, try e.emit(branch2, rest)])
        } else {
            joined = try e.concat([try e.emit(branch1, x), try e.emit(branch2, x)])
        }
        let c = joined.channels
        let grouped = e.reshape(joined, [2, c / 2, joined.height, joined.width])
        let swapped = e.node("Transpose", [grouped.name], shape: [c / 2, 2, joined.height, joined.width],
                             [("perm", .ints([0, 2, 1, 3, 4]))])
        return e.reshape(swapped, joined.shape)
    }
}

extension ONNXEmitter {
    /// Channels `range` of `x`.
    public func sliceChannels(_ x: ONNXValue, _ range: Range<Int>) -> ONNXValue {
        let starts = graph.addInt64Initializer("starts", values: [range.lowerBound])
        let ends = graph.addInt64Initializer("ends", values: [range.upperBound])
        let axes = graph.addInt64Initializer("axes", values: [1])
        return node("Slice", [x.name, starts, ends, axes], shape: [range.count] + x.shape.dropFirst())
    }
}
