import GraftCore
import GraftNN
import GraftTensor

/// A classification network with what the tools around it need: its architecture name, the path of its
/// classifier, the random stream of its dropout layers, and — when the network splits at its pooled
/// features (`FeatureHeadNetwork`, as every zoo model does) — features and head apart.
///
/// The network is an ordinary module tree; `Model` records no names of its own, so its state dict is the
/// tree's. Splitting at the pooled features is what makes feature caching possible: with a frozen body
/// the features of an image never change, so a head can be trained on cached `[N, F]` rows.
public final class Model {
    public enum Family: String, Sendable, Codable {
        case resnet, vgg, efficientnet, kerasResNet, kerasVGG, kerasEfficientNet
        case convnext, mobilenetV2, mobilenetV3, mnasnet, alexnet, squeezenet, googlenet, inceptionV3, densenet,
             shufflenetV2, regnet
        /// A network assembled by the user from modules.
        case custom
    }

    public let arch: String
    public let family: Family
    public let network: Module
    /// The classifier's module path (`fc`, `classifier.1`, `classifier.6`, or the user's).
    public let classifierPath: String
    /// The dropout/stochastic-depth random stream, shared by every such module of the network.
    public let random: RandomSource
    /// Dropout right before the classifier added for fine-tuning (no parameters: the state dict is unchanged).
    public private(set) var headDropout: Dropout?
    /// What the source model applies after the logits (a Keras model's softmax); see `outputs`.
    public var outputActivation: OutputActivation = .linear

    /// Wraps `network`; `classifierPath` must name a `Linear` in it, or a 1×1 `Conv2d` (SqueezeNet's
    /// `final_conv`, a Linear applied at every position).
    public init(network: Module, arch: String, family: Family = .custom, classifierPath: String? = nil, seed: UInt64 = 0) throws {
        let path = classifierPath ?? (network as? FeatureHeadNetwork)?.classifierPath ?? "fc"
        guard let found = network.module(at: path), Self.isClassifier(found) else {
            let linears = network.namedModules().filter { $0.module is Linear }.map(\.path)
            throw NNError.badArgument("the classifier path '\(path)' is not a Linear (or 1×1 Conv2d) of \(arch); its Linear modules: "
                                      + (linears.isEmpty ? "none" : linears.joined(separator: ", ")))
        }
        self.network = network
        self.arch = arch
        self.family = family
        self.classifierPath = path
        random = RandomSource(seed: seed)
        network.useRandomSource(random)
    }

    var split: FeatureHeadNetwork? { network as? FeatureHeadNetwork }

    /// Whether `features` / `head` are available.
    public var splitsAtFeatures: Bool { split != nil }
    /// Whether `features` are pooled `[N, F]` rows a head can be trained on (feature caching); false for
    /// SqueezeNet, whose features are its last map.
    public var featuresArePooled: Bool { split?.featuresArePooled ?? false }
    /// Modules outside the forward pass (GoogLeNet's and Inception v3's auxiliary classifiers).
    public var auxiliaryPaths: [String] { split?.auxiliaryPaths ?? [] }

    private static func isClassifier(_ m: Module) -> Bool {
        if m is Linear { return true }
        guard let conv = m as? Conv2d else { return false }
        return conv.kernelSize.h == 1 && conv.kernelSize.w == 1 && conv.groups == 1
    }

    /// The classifier module: a `Linear`, or SqueezeNet's 1×1 `Conv2d`.
    public var classifierModule: Module { network.module(at: classifierPath)! }
    public var numClasses: Int {
        (classifierModule as? Linear)?.outFeatures ?? (classifierModule as! Conv2d).outChannels
    }
    /// The classifier's weight (`[classes, F]`, or `[classes, C, 1, 1]` for a 1×1 convolution: the same
    /// numbers) and bias.
    public var classifierParameters: (weight: Parameter, bias: Parameter?) {
        if let linear = classifierModule as? Linear { return (linear.weight, linear.bias) }
        let conv = classifierModule as! Conv2d
        return (conv.weight, conv.bias)
    }
    /// The width the classifier reads (channels of SqueezeNet's map).
    public var featureCount: Int {
        (classifierModule as? Linear)?.inFeatures ?? (classifierModule as! Conv2d).inChannels
    }

    /// Every parameter and buffer, in state-dict order.
    public var parameters: [Parameter] { network.parameters }
    public func namedParameters() -> [(name: String, parameter: Parameter)] { network.namedParameters() }
    public func stateDict() -> [(name: String, tensor: RawTensor)] { network.stateDict() }

    /// The modules before the pooled features (none when the network does not split there), without
    /// auxiliary classifiers.
    public var bodyModules: [Module] {
        guard let split else { return [] }
        // The auxiliary classifiers never run, so they are not part of the body either.
        let head = split.headModulePaths + split.auxiliaryPaths
        return network.namedModules().filter { m in
            !m.path.isEmpty && !head.contains { m.path == $0 || m.path.hasPrefix($0 + ".") }
        }.map(\.module)
    }

    /// Every module of the tree (and the head dropout, if any).
    public var modules: [Module] { network.namedModules().map(\.module) + (headDropout.map { [$0] } ?? []) }

    public func setTraining(_ training: Bool) {
        network.train(training)
        headDropout?.isTraining = training
    }

    /// Training mode, recording what backward needs given which parameters are trainable now.
    public func prepareTraining() {
        setTraining(true)
        prepareBackward()
    }

    /// Decides what every module records for backward from which parameters are trainable now.
    public func prepareBackward() {
        _ = network.prepareBackward(trainableBefore: false)
        let bodyTrains = bodyHasTrainable
        headDropout?.recordsForBackward = bodyTrains
        headDropout?.needsInputGradient = bodyTrains
    }

    private var bodyHasTrainable: Bool {
        let head = Set(network.module(at: classifierPath)!.parameters.map(ObjectIdentifier.init))
        return network.parameters.contains { $0.isTrainable && !head.contains(ObjectIdentifier($0)) }
    }

    /// Evaluation mode with nothing recorded, so every fused inference kernel runs.
    public func prepareInference() {
        network.prepareInference()
        headDropout?.isTraining = false
    }

    /// Evaluation-mode logits for an NCHW batch.
    public func logits(_ x: Tensor) throws -> Tensor {
        prepareInference()
        return try forward(x)
    }

    /// Evaluation-mode outputs as the source framework's model gives them: the logits through
    /// `outputActivation` (probabilities for a `keras.applications` model, logits for PyTorch's).
    public func outputs(_ x: Tensor) throws -> Tensor {
        try outputActivation.apply(try logits(x))
    }

    /// The pooled features `[N, F]` the classifier sees (evaluation mode).
    public func features(_ x: Tensor) throws -> Tensor {
        prepareInference()
        return try forwardFeatures(x)
    }

    /// Features in the current mode.
    public func forwardFeatures(_ x: Tensor) throws -> Tensor {
        guard let split else { throw NNError.notImplemented("\(arch): features before the classifier (the network does not split there)") }
        return try split.forwardFeatures(x)
    }

    /// Forward in the current mode.
    public func forward(_ x: Tensor) throws -> Tensor {
        guard split != nil else {
            if headDropout != nil { throw NNError.notImplemented("\(arch): head dropout on a network that does not split at its features") }
            return try network(x)
        }
        return try head(try forwardFeatures(x))
    }

    /// Dropout + classifier head on pooled features.
    public func head(_ features: Tensor) throws -> Tensor {
        guard let split else { throw NNError.notImplemented("\(arch): the head apart from the body") }
        return try split.forwardHead(try headDropout?(features) ?? features)
    }

    /// Backward from ∂L/∂logits through the head and (when anything there trains) the body.
    public func backward(_ gradLogits: Tensor) throws {
        guard let split else { _ = try network.backward(gradLogits); return }
        guard var g = try split.backwardHead(gradLogits) else { return }
        if let d = headDropout, let gd = try d.backward(g) { g = gd }
        if bodyHasTrainable { _ = try split.backwardFeatures(g) }
    }

    /// Puts (or removes) a dropout before the classifier.
    public func setHeadDropout(_ dropout: Dropout?) {
        dropout?.random = random
        headDropout = dropout
    }

    /// Replaces the classifier (fine-tuning's new head) under the same module path, so the state dict
    /// loads into the framework's model with the same replaced head.
    /// SqueezeNet's 1×1 convolution classifier gets the Linear's numbers as `[classes, C, 1, 1]` weights.
    public func replaceClassifier(_ linear: Linear) throws {
        if let squeezeNet = network as? SqueezeNet { return try squeezeNet.replaceClassifier(with: linear) }
        try network.replace(classifierPath, with: linear)
    }
}
