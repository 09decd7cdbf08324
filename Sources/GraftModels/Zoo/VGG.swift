// VGG as torchvision builds it (torchvision/models/vgg.py): "Very Deep Convolutional Networks for
// Large-Scale Image Recognition", Simonyan & Zisserman 2014, https://arxiv.org/abs/1409.1556.
// 3×3 convolutions with bias (and BatchNorm in the _bn variants), 2×2 max pools, an adaptive 7×7
// average pool — so any input of at least 32 pixels works — and a three-layer classifier.

import GraftNN
import GraftTensor

/// torchvision's `VGG`: children `features` (Sequential: conv, [bn], relu … pool), `avgpool`,
/// `classifier` (Sequential: 0 Linear, 1 ReLU, 2 Dropout, 3 Linear, 4 ReLU, 5 Dropout, 6 Linear).
/// Keras' VGG flattens the 7×7 map as it is (no adaptive pool) and has no dropout.
public final class VGG: FeatureHeadNetwork {
    public let config: VGGConfig
    public let features: Sequential
    public let avgpool: Module
    public let classifier: Sequential

    public init(_ config: VGGConfig) {
        self.config = config
        var layers: [Module] = []
        var channels = 3
        for item in config.items {
            switch item {
            case .pool: layers.append(MaxPool2d(kernelSize: 2, stride: 2))
            case .conv(let out):
                layers.append(Conv2d(channels, out, kernelSize: 3, padding: 1))
                if config.batchNorm { layers.append(BatchNorm2d(out)) }
                layers.append(ReLU())
                channels = out
            }
        }
        features = Sequential(layers)
        let keras = config.kerasFlattenFeatures
        avgpool = keras == nil ? AdaptiveAvgPool2d(height: 7, width: 7) : Identity()
        let flat = keras ?? channels * 49
        classifier = Sequential(
            Linear(flat, config.hidden), ReLU(), Dropout(keras == nil ? 0.5 : 0),
            Linear(config.hidden, config.hidden), ReLU(), Dropout(keras == nil ? 0.5 : 0),
            Linear(config.hidden, config.numClasses))
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("features", features), ("avgpool", avgpool), ("classifier", classifier)]
    }

    public override var classifierPath: String { "classifier.6" }

    /// torchvision: convolutions kaiming_normal (fan_out), zero bias; linear N(0, 0.01), zero bias.
    public func torchvisionInit(seed: UInt64) { initialize(seed: seed, scheme: .kaiming) }

    /// The 4096-wide output of the second hidden layer (what the last Linear sees).
    public override func forwardFeatures(_ x: Tensor) throws -> Tensor {
        let h = try avgpool(try features(x))
        return try Sequential.run(Array(classifier.layers.dropLast()), try flattenFeatures(h))
    }

    public override func forwardHead(_ features: Tensor) throws -> Tensor { try classifier.layers[6](features) }
    public override func backwardHead(_ gradOutput: Tensor) throws -> Tensor? { try classifier.layers[6].backward(gradOutput) }

    public override func backwardFeatures(_ g: Tensor) throws -> Tensor? {
        guard let d = try Chain.backward(Array(classifier.layers.dropLast()), g),
              avgpool.recordsForBackward, let unflat = try unflattenFeatures(d), let dPool = try avgpool.backward(unflat) else { return nil }
        guard features.recordsForBackward else { return nil }
        return try features.backward(dPool)
    }
}
