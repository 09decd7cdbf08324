// AlexNet as torchvision builds it (torchvision/models/alexnet.py): the single-tower variant of "One weird
// trick for parallelizing convolutional neural networks", Krizhevsky 2014, https://arxiv.org/abs/1404.5997
// (64-192-384-256-256 channels, no local response normalization), after "ImageNet Classification with
// Deep Convolutional Neural Networks", Krizhevsky et al. 2012.

import GraftNN
import GraftTensor

/// torchvision's `AlexNet`: children `features` (Sequential: 0 Conv2d 11×11/4 pad 2, 1 ReLU, 2 MaxPool2d
/// 3/2, 3 Conv2d 5×5 pad 2, 4 ReLU, 5 MaxPool2d, 6 Conv2d 3×3, 7 ReLU, 8 Conv2d, 9 ReLU, 10 Conv2d, 11 ReLU,
/// 12 MaxPool2d), `avgpool` (AdaptiveAvgPool2d 6×6), `classifier` (Sequential: 0 Dropout, 1 Linear, 2 ReLU,
/// 3 Dropout, 4 Linear, 5 ReLU, 6 Linear).
///
/// As for VGG, the split at the features is before the last Linear: `forwardFeatures` is the 4096-wide
/// output of `classifier.5`, the head `classifier.6` (classifier and head path).
public final class AlexNet: FeatureHeadNetwork {
    public let config: AlexNetConfig
    public let features: Sequential
    public let avgpool: AdaptiveAvgPool2d
    public let classifier: Sequential
    private var flatShape: [Int]?

    public init(_ c: AlexNetConfig) {
        config = c
        let w = c.widths
        features = Sequential(
            Conv2d(3, w[0], kernelSize: 11, stride: 4, padding: 2), ReLU(), MaxPool2d(kernelSize: 3, stride: 2),
            Conv2d(w[0], w[1], kernelSize: 5, padding: 2), ReLU(), MaxPool2d(kernelSize: 3, stride: 2),
            Conv2d(w[1], w[2], kernelSize: 3, padding: 1), ReLU(),
            Conv2d(w[2], w[3], kernelSize: 3, padding: 1), ReLU(),
            Conv2d(w[3], w[4], kernelSize: 3, padding: 1), ReLU(), MaxPool2d(kernelSize: 3, stride: 2))
        avgpool = AdaptiveAvgPool2d(c.poolSize)
        classifier = Sequential(
            Dropout(c.dropout), Linear(w[4] * c.poolSize * c.poolSize, c.hidden), ReLU(),
            Dropout(c.dropout), Linear(c.hidden, c.hidden), ReLU(),
            Linear(c.hidden, c.numClasses))
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("features", features), ("avgpool", avgpool), ("classifier", classifier)]
    }

    public override var classifierPath: String { "classifier.6" }

    /// The output of the second hidden layer (what the last Linear sees).
    public override func forwardFeatures(_ x: Tensor) throws -> Tensor {
        let h = try avgpool(try features(x))
        flatShape = h.shape
        let f = try h.reshaped([h.shape[0], h.count / max(h.shape[0], 1)])
        return try Sequential.run(Array(classifier.layers.dropLast()), f)
    }

    public override func forwardHead(_ features: Tensor) throws -> Tensor { try classifier.layers[6](features) }
    public override func backwardHead(_ gradOutput: Tensor) throws -> Tensor? { try classifier.layers[6].backward(gradOutput) }

    public override func backwardFeatures(_ g: Tensor) throws -> Tensor? {
        guard let d = try Chain.backward(Array(classifier.layers.dropLast()), g), let shape = flatShape,
              avgpool.recordsForBackward, let dPool = try avgpool.backward(try d.reshaped(shape)),
              features.recordsForBackward else { return nil }
        return try features.backward(dPool)
    }
}
