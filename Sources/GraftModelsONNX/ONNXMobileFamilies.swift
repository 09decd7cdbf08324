import GraftModels
import GraftNN
import GraftONNX

// EfficientNet (v1, v2, Lite, TF ports, Keras), MobileNet V2 / V3 and MNASNet as ONNX operators.

extension EfficientNet: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let input = try normalization.map { try e.emit($0, x) } ?? x
        return try e.emit(classifier, e.flatten(try e.emit(avgpool, try e.emit(features, input))))
    }
}

extension MBConv: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let out = try e.emit(block, x)
        return residual ? try e.add(out, x) : out
    }
}

extension InvertedResidual: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let out = try e.emit(body, x)
        return residual ? try e.add(out, x) : out
    }
}

extension KerasInputNormalization: ONNXEmittable {
    /// Keras' Normalization layer on 0…255 pixels, in the operations and order Graft runs it:
    /// `(x / 255 − mean) / sqrt(variance)`, then the ImageNet std correction when it applies.
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let m = mean.value.values
        let scaled = e.node("Mul", [x.name, e.constant("one_over_255", [1 / 255])], shape: x.shape)
        let centered = e.node("Sub", [scaled.name, e.constant("normalization.mean", m, shape: [3, 1, 1])], shape: x.shape)
        let out = e.node("Div", [centered.name, e.constant("normalization.std", std, shape: [3, 1, 1])], shape: x.shape)
        guard appliesImagenetCorrection else { return out }
        return e.node("Mul", [out.name, e.constant("normalization.imagenet_correction", stdCorrection, shape: [3, 1, 1])], shape: x.shape)
    }
}

extension MobileNetV2: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        try e.emit(classifier, e.flatten(e.globalAveragePool(try e.emit(features, x))))
    }
}

extension MobileNetV3: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        try e.emit(classifier, e.flatten(try e.emit(avgpool, try e.emit(features, x))))
    }
}

extension MNASNet: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        try e.emit(classifier, e.flatten(e.globalAveragePool(try e.emit(layers, x))))
    }
}
