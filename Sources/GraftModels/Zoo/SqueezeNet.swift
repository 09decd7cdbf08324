// SqueezeNet as torchvision builds it (torchvision/models/squeezenet.py): "SqueezeNet: AlexNet-level
// accuracy with 50x fewer parameters and <0.5MB model size", Iandola et al. 2016,
// https://arxiv.org/abs/1602.07360 (1.0), and the 1.1 variant of the reference implementation (a 3×3 stem,
// earlier pools: the same accuracy with 2.4× less computation).

import GraftNN
import GraftTensor

/// torchvision's `SqueezeNet`: children `features` (Sequential: Conv2d, ReLU, MaxPool2d(3, 2,
/// ceil_mode=True) and `Fire` modules as the config lists them) and `classifier` (Sequential: 0 Dropout,
/// 1 Conv2d 1×1 to the classes — torchvision's `final_conv` — 2 ReLU, 3 AdaptiveAvgPool2d(1)).
///
/// Its classifier is a convolution applied at every position, followed by a ReLU and only then the
/// global average, so no pooled embedding precedes it: `forwardFeatures` returns the output of
/// `features`, the `[N, C, H, W]` map (C = `config.featureChannels`, 512 for torchvision's sizes;
/// H = W = 13 at 224×224 input), and `forwardHead` takes that map. The classifier path is
/// `classifier.1` (a Conv2d, not a Linear), the head path `classifier`; `Model` takes a 1×1
/// convolution there and `replaceClassifier(with:)` turns a new Linear head into one.
public final class SqueezeNet: FeatureHeadNetwork {
    public let config: SqueezeNetConfig
    public let features: Sequential
    public let classifier: Sequential
    private var pooledShape: [Int]?

    public init(_ c: SqueezeNetConfig) {
        config = c
        var layers: [Module] = []
        var channels = 3
        for item in c.items {
            switch item {
            case .conv(let out, let k, let s):
                layers += [Conv2d(channels, out, kernelSize: k, stride: s), ReLU()]
                channels = out
            case .pool:
                layers.append(MaxPool2d(kernelSize: 3, stride: 2, ceilMode: true))
            case .fire(let sq, let e1, let e3):
                layers.append(Fire(channels, squeeze: sq, expand1x1: e1, expand3x3: e3))
                channels = e1 + e3
            }
        }
        features = Sequential(layers)
        classifier = Sequential(Dropout(c.dropout), Conv2d(channels, c.numClasses, kernelSize: 1), ReLU(), AdaptiveAvgPool2d(1))
    }

    public override var namedChildren: [(name: String, module: Module)] { [("features", features), ("classifier", classifier)] }

    public override var classifierPath: String { "classifier.1" }
    public override var headPath: String { "classifier" }
    public override var featuresArePooled: Bool { false }

    /// torchvision's `final_conv`, `classifier.1`.
    public var finalConv: Conv2d { classifier.layers[1] as! Conv2d }
    public var numClasses: Int { finalConv.outChannels }

    /// Puts a new head in place of `classifier.1`: a Linear `[classes, C]`'s weights become the 1×1
    /// convolution's `[classes, C, 1, 1]` (the same numbers: a 1×1 convolution is a Linear at every
    /// position), so the state dict loads into torchvision's SqueezeNet with `final_conv` replaced.
    public func replaceClassifier(with linear: Linear) throws {
        guard linear.inFeatures == finalConv.inChannels else {
            throw NNError.badArgument("SqueezeNet's classifier takes \(finalConv.inChannels) channels, not \(linear.inFeatures)")
        }
        let conv = Conv2d(linear.inFeatures, linear.outFeatures, kernelSize: 1, bias: linear.bias != nil)
        conv.weight.value = try linear.weight.value.reshaped([linear.outFeatures, linear.inFeatures, 1, 1])
        if let b = linear.bias { conv.bias!.value = b.value }
        conv.weight.requiresGrad = linear.weight.requiresGrad
        try classifier.setChild("1", conv)
    }

    /// The output of `features`: `[N, C, H, W]` (see the class comment).
    public override func forwardFeatures(_ x: Tensor) throws -> Tensor { try features(x) }

    public override func forwardHead(_ f: Tensor) throws -> Tensor {
        let pooled = try classifier(f)
        pooledShape = pooled.shape
        return try pooled.reshaped([pooled.shape[0], pooled.count / max(pooled.shape[0], 1)])
    }

    public override func backwardHead(_ g: Tensor) throws -> Tensor? {
        guard let shape = pooledShape, classifier.recordsForBackward else { return nil }
        return try classifier.backward(try g.reshaped(shape))
    }

    public override func backwardFeatures(_ g: Tensor) throws -> Tensor? {
        features.recordsForBackward ? try features.backward(g) : nil
    }
}

/// torchvision's `Fire`: `squeeze` (1×1 conv) → `squeeze_activation`, then `expand1x1` (1×1) →
/// `expand1x1_activation` and `expand3x3` (3×3, padding 1) → `expand3x3_activation`, the two concatenated
/// along channels. At inference each convolution runs with its ReLU in the epilogue.
public final class Fire: Module {
    public let squeeze: Conv2d
    public let squeezeActivation = ReLU()
    public let expand1x1: Conv2d
    public let expand1x1Activation = ReLU()
    public let expand3x3: Conv2d
    public let expand3x3Activation = ReLU()
    private var sizes: [Int]?

    public init(_ inChannels: Int, squeeze: Int, expand1x1: Int, expand3x3: Int) {
        self.squeeze = Conv2d(inChannels, squeeze, kernelSize: 1)
        self.expand1x1 = Conv2d(squeeze, expand1x1, kernelSize: 1)
        self.expand3x3 = Conv2d(squeeze, expand3x3, kernelSize: 3, padding: 1)
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("squeeze", squeeze), ("squeeze_activation", squeezeActivation), ("expand1x1", expand1x1),
         ("expand1x1_activation", expand1x1Activation), ("expand3x3", expand3x3), ("expand3x3_activation", expand3x3Activation)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        if namedChildren.allSatisfy({ $0.module.fusable }) {
            let s = try squeeze.fused(x, norm: nil, activation: .relu)
            return try concatChannels([try expand1x1.fused(s, norm: nil, activation: .relu),
                                       try expand3x3.fused(s, norm: nil, activation: .relu)])
        }
        let s = try squeezeActivation(try squeeze(x))
        let a = try expand1x1Activation(try expand1x1(s))
        let b = try expand3x3Activation(try expand3x3(s))
        sizes = [a.shape[1], b.shape[1]]
        return try concatChannels([a, b])
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let sizes else { throw NNError.noRecordedForward("Fire") }
        self.sizes = nil
        let parts = try splitChannels(gradOutput, sizes: sizes)
        var ds: Tensor?
        for (conv, act, g) in [(expand1x1, expand1x1Activation, parts[0]), (expand3x3, expand3x3Activation, parts[1])]
        where act.recordsForBackward {
            guard let da = try act.backward(g), let dc = try conv.backward(da) else { continue }
            if ds == nil { ds = dc } else { try addInPlace(&ds!, dc) }
        }
        guard let d = ds, squeezeActivation.recordsForBackward, let dr = try squeezeActivation.backward(d) else { return nil }
        return try squeeze.backward(dr)
    }

    /// squeeze → its ReLU, then both expands from there.
    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        let s = Chain.prepare([squeeze, squeezeActivation], trainableBefore: trainableBefore)
        let a = Chain.prepare([expand1x1, expand1x1Activation], trainableBefore: s)
        let b = Chain.prepare([expand3x3, expand3x3Activation], trainableBefore: s)
        recordsForBackward = a || b
        return a || b
    }
}
