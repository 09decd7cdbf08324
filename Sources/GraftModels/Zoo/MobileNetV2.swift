// MobileNetV2 as torchvision builds it (torchvision/models/mobilenetv2.py): "MobileNetV2: Inverted
// Residuals and Linear Bottlenecks", Sandler et al. 2018, https://arxiv.org/abs/1801.04381. Its
// `InvertedResidual` serves MobileNetV3 and MNASNet too.

import GraftNN
import GraftTensor

/// torchvision's `MobileNetV2`: children `features` (0 the stem, 1…B the `InvertedResidual` blocks,
/// B+1 the last 1×1 conv, each conv unit a `Conv2dNormActivation` with ReLU6) and `classifier` (0 Dropout,
/// 1 Linear). Pooling is functional in torchvision (`adaptive_avg_pool2d`), so it is no child here either.
public final class MobileNetV2: FeatureHeadNetwork {
    public let config: MobileNetV2Config
    public let features: Sequential
    public let classifier: Sequential
    private var pooledInputShape: [Int]?

    public init(_ c: MobileNetV2Config) {
        config = c
        var units: [Module] = [convNormActivation(3, c.stemChannels, kernelSize: 3, stride: 2, activation: .relu6)]
        for b in c.blocks {
            var parts: [Module] = []
            if b.expandedChannels != b.inChannels {
                parts.append(convNormActivation(b.inChannels, b.expandedChannels, kernelSize: 1, activation: .relu6))
            }
            parts.append(convNormActivation(b.expandedChannels, b.expandedChannels, kernelSize: 3, stride: b.stride,
                                            groups: b.expandedChannels, activation: .relu6))
            parts.append(Conv2d(b.expandedChannels, b.outChannels, kernelSize: 1, bias: false))
            parts.append(BatchNorm2d(b.outChannels))
            units.append(InvertedResidual(Sequential(parts), bodyName: "conv",
                                          residual: b.stride == 1 && b.inChannels == b.outChannels))
        }
        units.append(convNormActivation(c.blocks.last?.outChannels ?? c.stemChannels, c.lastChannels, kernelSize: 1,
                                        activation: .relu6))
        features = Sequential(units)
        classifier = Sequential(Dropout(c.dropout), Linear(c.lastChannels, c.numClasses))
    }

    public override var namedChildren: [(name: String, module: Module)] { [("features", features), ("classifier", classifier)] }

    public override var classifierPath: String { "classifier.1" }
    public override var headPath: String { "classifier" }

    public override func forwardFeatures(_ x: Tensor) throws -> Tensor {
        let h = try features(x)
        pooledInputShape = h.shape
        return try globalAvgPool(h).reshaped([h.shape[0], h.shape[1]])
    }

    public override func forwardHead(_ f: Tensor) throws -> Tensor { try classifier(f) }
    public override func backwardHead(_ g: Tensor) throws -> Tensor? { try classifier.backward(g) }

    public override func backwardFeatures(_ g: Tensor) throws -> Tensor? {
        guard let shape = pooledInputShape, features.recordsForBackward else { return nil }
        return try features.backward(try globalAvgPoolBackward(gradOutput: g, inputShape: shape))
    }
}

/// torchvision's inverted residual blocks: MobileNetV2's and MobileNetV3's `InvertedResidual` (body
/// `conv` and `block`) and MNASNet's `_InvertedResidual` (body `layers`). The body, plus the input when
/// the block keeps its shape (stride 1, as many channels out as in).
public final class InvertedResidual: Module {
    public let body: Sequential
    /// The body's child name: `conv`, `block` or `layers`.
    public let bodyName: String
    public let residual: Bool
    private let pytorchName: String

    public init(_ body: Sequential, bodyName: String, residual: Bool, typeName: String = "InvertedResidual") {
        self.body = body
        self.bodyName = bodyName
        self.residual = residual
        pytorchName = typeName
    }

    public override var typeName: String { pytorchName }

    public override var namedChildren: [(name: String, module: Module)] { [(bodyName, body)] }

    public override func forward(_ x: Tensor) throws -> Tensor {
        var out = try body(x)
        if residual { try addInPlace(&out, x) }
        return out
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        var dBody = body.recordsForBackward ? try body.backward(gradOutput) : nil
        guard needsInputGradient, dBody != nil else { return nil }
        return residual ? try sumOfGradients(&dBody, gradOutput) : dBody
    }

    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        recordsForBackward = body.prepareBackward(trainableBefore: trainableBefore)
        return recordsForBackward
    }
}
