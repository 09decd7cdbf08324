import CXNNPACK
import GraftModels
import GraftNN

// The zoo families XNNPACK's operators cover, each in the order its forward runs: ResNet (ResNeXt,
// Wide ResNet, Keras ResNet), VGG, AlexNet, EfficientNet (v1, v2, Lite, Keras), MobileNet V2 / V3,
// MNASNet, RegNet. The others need concatenation, channel shuffles or an erf GELU, which this
// XNNPACK does not have; they run on Graft's own kernels.

extension ResNet: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        var h = try e.emit(maxpool, try e.conv(conv1, norm: bn1, activation: .relu, x))
        for stage in stages { h = try e.emit(stage, h) }
        return try e.linear(fc, try e.emit(avgpool, h))
    }
}

extension ResNetBlock: XNNEmittable {
    /// The convolutions with ReLU clamped in all but the last, which adds the shortcut, then ReLU.
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        let shortcut = try downsample.map { try e.emit($0, x) } ?? x
        var h = x
        for i in convs.indices { h = try e.conv(convs[i], norm: norms[i], activation: i < convs.count - 1 ? .relu : .none, h) }
        return try e.add(h, shortcut, activation: .relu)
    }
}

extension VGG: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        try e.emit(classifier, try e.flatten(try e.emit(avgpool, try e.emit(features, x))))
    }
}

extension AlexNet: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        try e.emit(classifier, try e.flatten(try e.emit(avgpool, try e.emit(features, x))))
    }
}

extension EfficientNet: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        let input = try normalization.map { try e.emit($0, x) } ?? x
        return try e.emit(classifier, try e.flatten(try e.emit(avgpool, try e.emit(features, input))))
    }
}

extension MBConv: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        let out = try e.emit(block, x)
        return residual ? try e.add(out, x) : out
    }
}

extension InvertedResidual: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        let out = try e.emit(body, x)
        return residual ? try e.add(out, x) : out
    }
}

extension KerasInputNormalization: XNNEmittable {
    /// Keras' Normalization layer on 0…255 pixels, in the operations and order Graft runs it:
    /// `(x / 255 − mean) / sqrt(variance)`, then the ImageNet std correction when it applies.
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        let scaled = try e.mul(x, try e.constantValue([1 / 255]))
        let centered = try e.binary(xnn_define_subtract, scaled, try e.constantValue(mean.value.values), "a mean subtraction")
        let out = try e.binary(xnn_define_divide, centered, try e.constantValue(std), "a std division")
        guard appliesImagenetCorrection else { return out }
        return try e.mul(out, try e.constantValue(stdCorrection))
    }
}

extension MobileNetV2: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        try e.emit(classifier, try e.flatten(try e.globalAveragePool(try e.emit(features, x))))
    }
}

extension MobileNetV3: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        try e.emit(classifier, try e.flatten(try e.emit(avgpool, try e.emit(features, x))))
    }
}

extension MNASNet: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        try e.emit(classifier, try e.flatten(try e.globalAveragePool(try e.emit(layers, x))))
    }
}

extension RegNet: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        try e.linear(fc, try e.emit(avgpool, try e.emit(trunkOutput, try e.emit(stem, x))))
    }
}

extension ResBottleneckBlock: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        let shortcut = try proj.map { try e.emit($0, x) } ?? x
        return try e.add(try e.emit(f, x), shortcut, activation: .relu)
    }
}
