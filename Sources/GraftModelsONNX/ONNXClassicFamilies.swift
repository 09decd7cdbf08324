import GraftModels
import GraftNN
import GraftONNX

// ResNet (and ResNeXt, Wide ResNet, Keras ResNet), VGG, AlexNet and SqueezeNet as ONNX operators,
// each in the order its forward runs.

extension ResNet: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        var h = e.activation(.relu, try e.conv(conv1, norm: bn1, x))
        h = try e.emit(maxpool, h)
        for stage in stages { h = try e.emit(stage, h) }
        return try e.linear(fc, e.flatten(try e.emit(avgpool, h)))
    }
}

extension ResNetBlock: ONNXEmittable {
    /// The convolutions with ReLU between them; the last adds the shortcut, then ReLU.
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let shortcut = try downsample.map { try e.emit($0, x) } ?? x
        var h = x
        for i in convs.indices {
            h = try e.conv(convs[i], norm: norms[i], h)
            if i < convs.count - 1 { h = e.activation(.relu, h) }
        }
        return e.activation(.relu, try e.add(h, shortcut))
    }
}

extension VGG: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        try e.emit(classifier, e.flatten(try e.emit(avgpool, try e.emit(features, x))))
    }
}

extension AlexNet: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        try e.emit(classifier, e.flatten(try e.emit(avgpool, try e.emit(features, x))))
    }
}

extension SqueezeNet: ONNXEmittable {
    /// The classifier is a 1×1 convolution, ReLU and a global pool: `[N, classes, 1, 1]`, flattened.
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        e.flatten(try e.emit(classifier, try e.emit(features, x)))
    }
}

extension Fire: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let s = e.activation(.relu, try e.conv(squeeze, norm: nil, x))
        return try e.concat([e.activation(.relu, try e.conv(expand1x1, norm: nil, s)),
                             e.activation(.relu, try e.conv(expand3x3, norm: nil, s))])
    }
}
