// MobileNetV3 as torchvision builds it (torchvision/models/mobilenetv3.py): "Searching for MobileNetV3",
// Howard et al. 2019, https://arxiv.org/abs/1905.02244.

import GraftNN
import GraftTensor

/// torchvision's `MobileNetV3`: children `features` (0 the stem with Hardswish, 1…B the
/// `InvertedResidual` blocks, B+1 the last 1×1 conv with Hardswish), `avgpool` and `classifier`
/// (0 Linear, 1 Hardswish, 2 Dropout, 3 Linear). As with VGG, the features are what the last Linear
/// (`classifier.3`) sees: the pooled map through the hidden Linear and Hardswish.
public final class MobileNetV3: FeatureHeadNetwork {
    public let config: MobileNetV3Config
    public let features: Sequential
    public let avgpool = AdaptiveAvgPool2d(1)
    public let classifier: Sequential
    private var pooledShape: [Int]?

    public init(_ c: MobileNetV3Config) {
        config = c
        func unit(_ inC: Int, _ outC: Int, k: Int, s: Int = 1, groups: Int = 1, _ a: Activation) -> Sequential {
            convNormActivation(inC, outC, kernelSize: k, stride: s, groups: groups, eps: c.bnEps, momentum: c.bnMomentum,
                               activation: a)
        }
        var units: [Module] = [unit(3, c.stemChannels, k: 3, s: 2, .hardswish)]
        for b in c.blocks {
            let act: Activation = b.hardswish ? .hardswish : .relu
            var parts: [Module] = []
            if b.expandedChannels != b.inChannels { parts.append(unit(b.inChannels, b.expandedChannels, k: 1, act)) }
            parts.append(unit(b.expandedChannels, b.expandedChannels, k: b.kernel, s: b.stride, groups: b.expandedChannels, act))
            if b.squeezeExcitation {
                parts.append(SqueezeExcitation(inputChannels: b.expandedChannels, squeezeChannels: b.squeezeChannels,
                                               activation: ReLU(), scaleActivation: Hardsigmoid()))
            }
            parts.append(unit(b.expandedChannels, b.outChannels, k: 1, .none))
            units.append(InvertedResidual(Sequential(parts), bodyName: "block",
                                          residual: b.stride == 1 && b.inChannels == b.outChannels))
        }
        units.append(unit(c.blocks.last?.outChannels ?? c.stemChannels, c.lastConvChannels, k: 1, .hardswish))
        features = Sequential(units)
        classifier = Sequential(Linear(c.lastConvChannels, c.lastChannels), Hardswish(), Dropout(c.dropout),
                                Linear(c.lastChannels, c.numClasses))
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("features", features), ("avgpool", avgpool), ("classifier", classifier)]
    }

    public override var classifierPath: String { "classifier.3" }

    public override func forwardFeatures(_ x: Tensor) throws -> Tensor {
        let pooled = try avgpool(try features(x))
        pooledShape = pooled.shape
        // Inference: the hidden Linear with its Hardswish in one kernel.
        return try Sequential.run(Array(classifier.layers.dropLast()),
                                  try pooled.reshaped([pooled.shape[0], pooled.shape[1]]))
    }

    public override func forwardHead(_ f: Tensor) throws -> Tensor { try classifier.layers[3](f) }
    public override func backwardHead(_ g: Tensor) throws -> Tensor? { try classifier.layers[3].backward(g) }

    public override func backwardFeatures(_ g: Tensor) throws -> Tensor? {
        guard let d = try Chain.backward(Array(classifier.layers.dropLast()), g), let shape = pooledShape, avgpool.recordsForBackward,
              let dPool = try avgpool.backward(try d.reshaped(shape)), features.recordsForBackward else { return nil }
        return try features.backward(dPool)
    }
}
