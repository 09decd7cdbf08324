/// Every number needed to build a torchvision ResNet / ResNeXt / Wide ResNet, or Keras' ResNet v1.
///
/// torchvision's variants differ only in these: block type and counts, stage widths, groups and
/// width per group (`width = int(planes · width_per_group / 64) · groups` inside a bottleneck).
public struct ResNetConfig: Codable, Sendable, Equatable {
    public enum Block: String, Codable, Sendable { case basic, bottleneck }

    public var block: Block
    public var layers: [Int]
    /// Stage widths (`planes`); the stem has widths[0] channels unless `stemWidth` says otherwise.
    public var widths: [Int] = [64, 128, 256, 512]
    /// timm allows a stem wider than the first stage (its stem is always 64).
    public var stemWidth: Int?
    public var groups: Int = 1
    public var widthPerGroup: Int = 64
    public var numClasses: Int = 1000
    public var bnEps: Float = 1e-5
    /// torchvision's ResNet v1.5, or Keras' original v1: stride on the first 1×1 of a bottleneck,
    /// biased convolutions, a projection shortcut on every stage's first block, a max pool over zero
    /// padding, BatchNorm eps 1.001e-5.
    public var style: Style = .torchvision

    public enum Style: String, Codable, Sendable { case torchvision, keras }

    public init(block: Block, layers: [Int], widths: [Int] = [64, 128, 256, 512], groups: Int = 1,
                widthPerGroup: Int = 64, numClasses: Int = 1000) {
        self.block = block
        self.layers = layers
        self.widths = widths
        self.groups = groups
        self.widthPerGroup = widthPerGroup
        self.numClasses = numClasses
    }

    public var expansion: Int { block == .basic ? 1 : 4 }

    /// Keras' ResNet50/101/152 (keras.applications.resnet).
    public static func keras(layers: [Int], numClasses: Int = 1000) -> ResNetConfig {
        var c = ResNetConfig(block: .bottleneck, layers: layers, numClasses: numClasses)
        c.style = .keras
        c.bnEps = 1.001e-5
        return c
    }

    /// torchvision's named builders.
    public static let named: [String: ResNetConfig] = [
        "resnet18": ResNetConfig(block: .basic, layers: [2, 2, 2, 2]),
        "resnet34": ResNetConfig(block: .basic, layers: [3, 4, 6, 3]),
        "resnet50": ResNetConfig(block: .bottleneck, layers: [3, 4, 6, 3]),
        "resnet101": ResNetConfig(block: .bottleneck, layers: [3, 4, 23, 3]),
        "resnet152": ResNetConfig(block: .bottleneck, layers: [3, 8, 36, 3]),
        "resnext50_32x4d": ResNetConfig(block: .bottleneck, layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4),
        "resnext101_32x8d": ResNetConfig(block: .bottleneck, layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8),
        "resnext101_64x4d": ResNetConfig(block: .bottleneck, layers: [3, 4, 23, 3], groups: 64, widthPerGroup: 4),
        "wide_resnet50_2": ResNetConfig(block: .bottleneck, layers: [3, 4, 6, 3], widthPerGroup: 128),
        "wide_resnet101_2": ResNetConfig(block: .bottleneck, layers: [3, 4, 23, 3], widthPerGroup: 128),
        "ResNet50": keras(layers: [3, 4, 6, 3]),
        "ResNet101": keras(layers: [3, 4, 23, 3]),
        "ResNet152": keras(layers: [3, 8, 36, 3]),
    ]
}
