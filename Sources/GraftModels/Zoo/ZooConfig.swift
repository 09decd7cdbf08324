import GraftNN

/// What the zoo needs from every architecture's config: its class count, the classifier key whose rows
/// are that count, the `Model.Family` tools use for its layer groups, and the network it builds.
public protocol ZooConfig: Sendable {
    var numClasses: Int { get set }
    /// The classifier's weight key (`fc.weight`, `classifier.1.weight`, …).
    var classifierKey: String { get }
    var modelFamily: Model.Family { get }
    /// The network, parameters zero (load a state dict or `initialize` next).
    func makeNetwork() -> FeatureHeadNetwork
}

extension ResNetConfig: ZooConfig {
    public var classifierKey: String { "fc.weight" }
    public var modelFamily: Model.Family { style == .keras ? .kerasResNet : .resnet }
    public func makeNetwork() -> FeatureHeadNetwork { ResNet(self) }
}

extension VGGConfig: ZooConfig {
    public var classifierKey: String { "classifier.6.weight" }
    public var modelFamily: Model.Family { kerasFlattenFeatures != nil ? .kerasVGG : .vgg }
    public func makeNetwork() -> FeatureHeadNetwork { VGG(self) }
}

extension EfficientNetConfig: ZooConfig {
    public var classifierKey: String { "classifier.1.weight" }
    public var modelFamily: Model.Family { kerasInputNormalization ? .kerasEfficientNet : .efficientnet }
    public func makeNetwork() -> FeatureHeadNetwork { EfficientNet(self) }
}

extension ConvNeXtConfig: ZooConfig {
    public var classifierKey: String { "classifier.2.weight" }
    public var modelFamily: Model.Family { .convnext }
    public func makeNetwork() -> FeatureHeadNetwork { ConvNeXt(self) }
}

extension MobileNetV2Config: ZooConfig {
    public var classifierKey: String { "classifier.1.weight" }
    public var modelFamily: Model.Family { .mobilenetV2 }
    public func makeNetwork() -> FeatureHeadNetwork { MobileNetV2(self) }
}

extension MobileNetV3Config: ZooConfig {
    public var classifierKey: String { "classifier.3.weight" }
    public var modelFamily: Model.Family { .mobilenetV3 }
    public func makeNetwork() -> FeatureHeadNetwork { MobileNetV3(self) }
}

extension MNASNetConfig: ZooConfig {
    public var classifierKey: String { "classifier.1.weight" }
    public var modelFamily: Model.Family { .mnasnet }
    public func makeNetwork() -> FeatureHeadNetwork { MNASNet(self) }
}

extension AlexNetConfig: ZooConfig {
    public var classifierKey: String { "classifier.6.weight" }
    public var modelFamily: Model.Family { .alexnet }
    public func makeNetwork() -> FeatureHeadNetwork { AlexNet(self) }
}

extension SqueezeNetConfig: ZooConfig {
    /// A 1×1 convolution (`final_conv`): its output channels are the classes.
    public var classifierKey: String { "classifier.1.weight" }
    public var modelFamily: Model.Family { .squeezenet }
    public func makeNetwork() -> FeatureHeadNetwork { SqueezeNet(self) }
}

extension GoogLeNetConfig: ZooConfig {
    public var classifierKey: String { "fc.weight" }
    public var modelFamily: Model.Family { .googlenet }
    public func makeNetwork() -> FeatureHeadNetwork { GoogLeNet(self) }
}

extension InceptionV3Config: ZooConfig {
    public var classifierKey: String { "fc.weight" }
    public var modelFamily: Model.Family { .inceptionV3 }
    public func makeNetwork() -> FeatureHeadNetwork { InceptionV3(self) }
}

extension DenseNetConfig: ZooConfig {
    public var classifierKey: String { "classifier.weight" }
    public var modelFamily: Model.Family { .densenet }
    public func makeNetwork() -> FeatureHeadNetwork { DenseNet(self) }
}

extension ShuffleNetV2Config: ZooConfig {
    public var classifierKey: String { "fc.weight" }
    public var modelFamily: Model.Family { .shufflenetV2 }
    public func makeNetwork() -> FeatureHeadNetwork { ShuffleNetV2(self) }
}

extension RegNetConfig: ZooConfig {
    public var classifierKey: String { "fc.weight" }
    public var modelFamily: Model.Family { .regnet }
    public func makeNetwork() -> FeatureHeadNetwork { RegNet(self) }
}
