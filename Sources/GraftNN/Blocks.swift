import GraftTensor

/// torchvision's `Conv2dNormActivation`: a Sequential of `0` Conv2d (no bias when normalized),
/// `1` BatchNorm2d and `2` the activation — the unit most of the zoo is made of.
public func convNormActivation(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1,
                               padding: Int? = nil, groups: Int = 1, norm: Bool = true, eps: Float = 1e-5,
                               momentum: Float = 0.1, activation: Activation = .relu, tfSame: Bool = false) -> Sequential {
    let p = padding ?? (kernelSize - 1) / 2
    let conv = Conv2d(inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
                      padding: tfSame ? .tfSame : .explicit(h: p, w: p), groups: groups, bias: !norm)
    var layers: [Module] = [conv]
    if norm { layers.append(BatchNorm2d(outChannels, eps: eps, momentum: momentum)) }
    if let a = activation.module { layers.append(a) }
    return Sequential(layers)
}

/// A network that splits at its pooled, flattened features: the body up to them, and the head after.
/// The zoo's models all do; fine-tuning uses the split to cache features of a frozen body, and
/// `Model.features(_:)` and `graft features --layer pool` return them. Subclasses give the four halves; forward and backward
/// are their composition.
open class FeatureHeadNetwork: Module {
    /// The shape `flattenFeatures` flattened, for the backward pass to restore.
    private var unflattenedShape: [Int]?

    /// `[N, C, …] → [N, C·…]` (torch.flatten(x, 1) after the pooling), remembering the shape.
    public func flattenFeatures(_ x: Tensor) throws -> Tensor {
        unflattenedShape = x.shape
        return try x.reshaped([x.shape[0], x.count / max(x.shape[0], 1)])
    }

    /// ∂L/∂features back in the shape `flattenFeatures` was given; nil before any forward.
    public func unflattenFeatures(_ g: Tensor) throws -> Tensor? {
        try unflattenedShape.map { try g.reshaped($0) }
    }
    /// The module path of the final Linear (`fc`, `classifier.1`, `classifier.6`).
    open var classifierPath: String { "fc" }
    /// Every module `forwardHead` runs (GoogLeNet's `dropout` and `fc` are siblings, so its head is two
    /// paths); the body is the rest.
    open var headModulePaths: [String] { [headPath] }
    /// Whether `forwardFeatures` gives pooled `[N, F]` rows. SqueezeNet's classifier is a 1×1
    /// convolution before its pooling, so its features are the last `[N, C, H, W]` map.
    open var featuresArePooled: Bool { true }
    /// Modules of the tree outside the forward pass: loaded and saved with the state dict, never run
    /// at inference (GoogLeNet's and Inception v3's auxiliary classifiers).
    open var auxiliaryPaths: [String] { [] }
    /// The module path of everything after the features (`fc`, EfficientNet's `classifier`).
    open var headPath: String { classifierPath }

    /// `[N, F]`: everything before the head.
    open func forwardFeatures(_ x: Tensor) throws -> Tensor { throw NNError.notImplemented("\(typeName).forwardFeatures") }
    open func forwardHead(_ features: Tensor) throws -> Tensor { throw NNError.notImplemented("\(typeName).forwardHead") }
    open func backwardHead(_ gradOutput: Tensor) throws -> Tensor? { throw NNError.notImplemented("\(typeName).backwardHead") }
    open func backwardFeatures(_ gradFeatures: Tensor) throws -> Tensor? {
        throw NNError.notImplemented("\(typeName).backwardFeatures")
    }

    public final override func forward(_ x: Tensor) throws -> Tensor { try forwardHead(try forwardFeatures(x)) }

    public final override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let g = try backwardHead(gradOutput) else { return nil }
        return try backwardFeatures(g)
    }
}
