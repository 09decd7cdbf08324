// MNASNet-B1 as torchvision builds it (torchvision/models/mnasnet.py): "MnasNet: Platform-Aware Neural
// Architecture Search for Mobile", Tan et al. 2018, https://arxiv.org/abs/1807.11626.

import GraftNN
import GraftTensor

/// torchvision's `MNASNet`: children `layers` (one flat Sequential: 0–2 conv, BN, ReLU; 3–5 the
/// depthwise conv, BN, ReLU; 6–7 the pointwise conv and BN; 8…13 the six stacks of `_InvertedResidual`;
/// 14–16 the 1×1 conv to 1280, BN, ReLU) and `classifier` (0 Dropout, 1 Linear). The pooling is
/// `x.mean([2, 3])` in torchvision, no module.
public final class MNASNet: FeatureHeadNetwork {
    public let config: MNASNetConfig
    public let layers: Sequential
    public let classifier: Sequential
    private var pooledInputShape: [Int]?

    public init(_ c: MNASNetConfig) {
        config = c
        func norm(_ channels: Int) -> BatchNorm2d { BatchNorm2d(channels, momentum: MNASNetConfig.bnMomentum) }
        var items: [Module] = [
            Conv2d(3, c.stemChannels, kernelSize: 3, stride: 2, padding: 1, bias: false), norm(c.stemChannels), ReLU(),
            Conv2d(c.stemChannels, c.stemChannels, kernelSize: 3, padding: 1, groups: c.stemChannels, bias: false),
            norm(c.stemChannels), ReLU(),
            Conv2d(c.stemChannels, c.separableChannels, kernelSize: 1, bias: false), norm(c.separableChannels),
        ]
        for s in c.stacks {
            items.append(Sequential((0..<s.repeats).map { i -> Module in
                let inC = i == 0 ? s.inChannels : s.outChannels, mid = inC * s.expansion, stride = i == 0 ? s.stride : 1
                let body = Sequential(
                    Conv2d(inC, mid, kernelSize: 1, bias: false), norm(mid), ReLU(),
                    Conv2d(mid, mid, kernelSize: s.kernel, stride: stride, padding: s.kernel / 2, groups: mid, bias: false),
                    norm(mid), ReLU(),
                    Conv2d(mid, s.outChannels, kernelSize: 1, bias: false), norm(s.outChannels))
                return InvertedResidual(body, bodyName: "layers", residual: inC == s.outChannels && stride == 1,
                                        typeName: "_InvertedResidual")
            }))
        }
        let last = c.stacks.last?.outChannels ?? c.separableChannels
        items += [Conv2d(last, c.headChannels, kernelSize: 1, bias: false), norm(c.headChannels), ReLU()]
        layers = Sequential(items)
        classifier = Sequential(Dropout(c.dropout), Linear(c.headChannels, c.numClasses))
    }

    public override var namedChildren: [(name: String, module: Module)] { [("layers", layers), ("classifier", classifier)] }

    public override var classifierPath: String { "classifier.1" }
    public override var headPath: String { "classifier" }

    public override func forwardFeatures(_ x: Tensor) throws -> Tensor {
        let h = try layers(x)
        pooledInputShape = h.shape
        return try globalAvgPool(h).reshaped([h.shape[0], h.shape[1]])
    }

    public override func forwardHead(_ f: Tensor) throws -> Tensor { try classifier(f) }
    public override func backwardHead(_ g: Tensor) throws -> Tensor? { try classifier.backward(g) }

    public override func backwardFeatures(_ g: Tensor) throws -> Tensor? {
        guard let shape = pooledInputShape, layers.recordsForBackward else { return nil }
        return try layers.backward(try globalAvgPoolBackward(gradOutput: g, inputShape: shape))
    }
}
