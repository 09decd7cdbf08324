import GraftCore
import GraftNN
import GraftStore

/// An architecture: its family and every number needed to build it.
public enum ArchSpec: Sendable, Equatable {
    case resnet(ResNetConfig)
    case vgg(VGGConfig)
    case efficientnet(EfficientNetConfig)
    case convnext(ConvNeXtConfig)
    case mobilenetV2(MobileNetV2Config)
    case mobilenetV3(MobileNetV3Config)
    case mnasnet(MNASNetConfig)
    case alexnet(AlexNetConfig)
    case squeezenet(SqueezeNetConfig)
    case googlenet(GoogLeNetConfig)
    case inceptionV3(InceptionV3Config)
    case densenet(DenseNetConfig)
    case shufflenetV2(ShuffleNetV2Config)
    case regnet(RegNetConfig)

    /// The config behind the case; everything the zoo asks of an architecture goes through it.
    public var config: any ZooConfig {
        switch self {
        case .resnet(let c): return c
        case .vgg(let c): return c
        case .efficientnet(let c): return c
        case .convnext(let c): return c
        case .mobilenetV2(let c): return c
        case .mobilenetV3(let c): return c
        case .mnasnet(let c): return c
        case .alexnet(let c): return c
        case .squeezenet(let c): return c
        case .googlenet(let c): return c
        case .inceptionV3(let c): return c
        case .densenet(let c): return c
        case .shufflenetV2(let c): return c
        case .regnet(let c): return c
        }
    }

    /// The same case with `config` in it (a config of another type leaves the spec unchanged).
    func with(_ config: any ZooConfig) -> ArchSpec {
        switch (self, config) {
        case (.resnet, let c as ResNetConfig): return .resnet(c)
        case (.vgg, let c as VGGConfig): return .vgg(c)
        case (.efficientnet, let c as EfficientNetConfig): return .efficientnet(c)
        case (.convnext, let c as ConvNeXtConfig): return .convnext(c)
        case (.mobilenetV2, let c as MobileNetV2Config): return .mobilenetV2(c)
        case (.mobilenetV3, let c as MobileNetV3Config): return .mobilenetV3(c)
        case (.mnasnet, let c as MNASNetConfig): return .mnasnet(c)
        case (.alexnet, let c as AlexNetConfig): return .alexnet(c)
        case (.squeezenet, let c as SqueezeNetConfig): return .squeezenet(c)
        case (.googlenet, let c as GoogLeNetConfig): return .googlenet(c)
        case (.inceptionV3, let c as InceptionV3Config): return .inceptionV3(c)
        case (.densenet, let c as DenseNetConfig): return .densenet(c)
        case (.shufflenetV2, let c as ShuffleNetV2Config): return .shufflenetV2(c)
        case (.regnet, let c as RegNetConfig): return .regnet(c)
        default: return self
        }
    }

    public var family: Model.Family { config.modelFamily }
    public var numClasses: Int { config.numClasses }
    /// The classifier's weight key, to read a checkpoint's class count.
    public var classifierKey: String { config.classifierKey }

    /// This spec with `other`'s settings that no shape shows (dropout, BatchNorm eps and momentum —
    /// EfficientNet-B5…B7 use 1e-3 and 0.01 —, EfficientNet's strides, stochastic depth), when both are
    /// of one family.
    func withTrainingSettings(of other: ArchSpec) -> ArchSpec {
        switch (self, other) {
        case (.efficientnet(var c), .efficientnet(let o)):
            c.dropout = o.dropout
            c.bnMomentum = o.bnMomentum
            c.bnEps = o.bnEps
            // A family read takes its strides from the family's first member (V2-M and -L have a stage
            // more than V2-S, with other strides).
            if c.stages.count == o.stages.count {
                for i in c.stages.indices { c.stages[i].stride = o.stages[i].stride }
            }
            return .efficientnet(c)
        case (.convnext(var c), .convnext(let o)):
            c.stochasticDepthProbability = o.stochasticDepthProbability
            return .convnext(c)
        default:
            return self
        }
    }

    public func withClasses(_ n: Int) -> ArchSpec {
        var c = config
        c.numClasses = n
        return with(c)
    }
}

public enum ZooError: Error, CustomStringConvertible, Equatable {
    case unknownArch(String)
    /// The sizes read from a checkpoint make a network far larger than the checkpoint itself.
    case implausibleSize(arch: String, declaredElements: Int)

    public var description: String {
        switch self {
        case .unknownArch(let a):
            // The name may come from a file (a store's graft.arch): quoted with a bounded prefix.
            return "unknown architecture \(SafeText.quoted(a, quote: "'", limit: 80)); known: \(Zoo.archNames.joined(separator: ", ")), "
                + "or a family whose sizes are read from the checkpoint: \(Zoo.families.joined(separator: ", "))"
        case .implausibleSize(let arch, let declared):
            return "the sizes read from the checkpoint make a \(arch) network far larger than the \(declared) "
                + "elements the checkpoint holds"
        }
    }
}

/// The named architectures (torchvision's builder names) and the families.
public enum Zoo {
    /// One family: its torchvision builders and, where the shapes tell every number, how to read a
    /// config back from a checkpoint.
    struct Family: Sendable {
        let name: String
        let named: [String: ArchSpec]
        let infer: (@Sendable ([String: [Int]]) throws -> ArchSpec)?
        /// For a family without `infer`: a key only its checkpoints have, so detection builds its
        /// sizes only when the key is there.
        let marker: String?
        /// For families that share a config type: whether a config read from shapes is one of this
        /// family's (EfficientNet V1 has squeeze-excitation everywhere and no fused blocks, V2 has fused
        /// blocks, Lite has neither), so a V1 checkpoint is never read as V2 or Lite.
        var accepts: @Sendable (ArchSpec) -> Bool = { _ in true }
    }

    private static func efficientNetKind(_ spec: ArchSpec) -> String? {
        guard case .efficientnet(let c) = spec else { return nil }
        if c.stages.contains(where: { $0.kind == .fused }) { return "efficientnet_v2" }
        if c.stages.allSatisfy({ $0.seRatio != nil }) { return "efficientnet" }
        if c.stages.allSatisfy({ $0.seRatio == nil }) { return "efficientnet_lite" }
        return nil
    }

    private static func family<C>(_ name: String, _ named: [String: C], _ wrap: @escaping @Sendable (C) -> ArchSpec,
                                  infer: (@Sendable ([String: [Int]]) throws -> C)? = nil, marker: String? = nil) -> Family {
        Family(name: name, named: named.mapValues(wrap), infer: infer.map { f in { wrap(try f($0)) } }, marker: marker)
    }

    private static func efficientNetFamily(_ name: String, like base: String, _ member: (String) -> Bool) -> Family {
        var f = family(name, EfficientNetConfig.named.filter { member($0.key) }, ArchSpec.efficientnet,
                       infer: { try ConfigInference.efficientnet($0, like: EfficientNetConfig.named[base]!) })
        f.accepts = { efficientNetKind($0) == name }
        return f
    }

    /// Every family, in the order listings show them.
    static let table: [Family] = [
        family("resnet", ResNetConfig.named, ArchSpec.resnet, infer: ConfigInference.resnet),
        family("vgg", VGGConfig.named, ArchSpec.vgg, infer: ConfigInference.vgg),
        efficientNetFamily("efficientnet", like: "efficientnet_b0") { !$0.contains("_v2") && !$0.contains("lite") },
        efficientNetFamily("efficientnet_v2", like: "efficientnet_v2_s") { $0.contains("_v2") },
        efficientNetFamily("efficientnet_lite", like: "efficientnet_lite0") { $0.contains("lite") },
        family("convnext", ConvNeXtConfig.named, ArchSpec.convnext, infer: ConfigInference.convnext),
        family("mobilenet_v2", MobileNetV2Config.named, ArchSpec.mobilenetV2, infer: ConfigInference.mobilenetV2),
        family("mobilenet_v3", MobileNetV3Config.named, ArchSpec.mobilenetV3, infer: ConfigInference.mobilenetV3),
        family("mnasnet", MNASNetConfig.named, ArchSpec.mnasnet, infer: ConfigInference.mnasnet),
        family("densenet", DenseNetConfig.named, ArchSpec.densenet, infer: ConfigInference.densenet),
        family("shufflenet_v2", ShuffleNetV2Config.named, ArchSpec.shufflenetV2, infer: ConfigInference.shufflenetV2),
        family("regnet", RegNetConfig.named, ArchSpec.regnet, infer: ConfigInference.regnet),
        family("alexnet", AlexNetConfig.named, ArchSpec.alexnet, marker: "classifier.4.weight"),
        family("squeezenet", SqueezeNetConfig.named, ArchSpec.squeezenet, marker: "features.3.squeeze.weight"),
        family("googlenet", GoogLeNetConfig.named, ArchSpec.googlenet, marker: "inception3a.branch1.conv.weight"),
        family("inception_v3", InceptionV3Config.named, ArchSpec.inceptionV3, marker: "Mixed_5b.branch1x1.conv.weight"),
    ]

    private static let byName: [String: ArchSpec] = {
        var all: [String: ArchSpec] = [:]
        for f in table { all.merge(f.named) { a, _ in a } }
        return all
    }()

    public static let archNames: [String] = table.flatMap { $0.named.keys.sorted() }

    /// Family names: sizes are read from the checkpoint, the rest comes from the family's first member.
    public static let families: [String] = table.filter { $0.infer != nil }.map(\.name)

    public static func spec(named arch: String) -> ArchSpec? { byName[arch] }

    /// The family a builder name or family name belongs to (`resnet50` → `resnet`).
    public static func familyName(of arch: String) -> String? {
        table.first { $0.name == arch || $0.named[arch] != nil }?.name
    }

    /// A family's architecture with sizes read from a checkpoint's shapes.
    public static func inferSpec(family: String, shapes: [String: [Int]]) throws -> ArchSpec {
        guard let infer = table.first(where: { $0.name == family })?.infer else { throw ZooError.unknownArch(family) }
        return try infer(shapes)
    }

    /// The builder name whose config equals `spec` up to the class count, if any.
    public static func name(of spec: ArchSpec) -> String? { named(like: spec)?.name }

    /// The builder whose network has `spec`'s shapes (same class count), and its config, which also
    /// carries what shapes cannot show: EfficientNet's dropout and BatchNorm eps and momentum,
    /// ConvNeXt's stochastic-depth rate.
    public static func named(like spec: ArchSpec) -> (name: String, spec: ArchSpec)? {
        for family in table {
            for (name, candidate) in family.named.sorted(by: { $0.key < $1.key }) {
                let target = candidate.withClasses(spec.numClasses)
                if spec.withTrainingSettings(of: target) == target { return (name, target) }
            }
        }
        return nil
    }

    /// The network of an architecture, parameters zero (load a state dict or `initialize` next).
    public static func network(_ spec: ArchSpec) -> Module { spec.config.makeNetwork() }

    /// The architecture's network wrapped as a `Model`, with the family Keras configs imply.
    public static func model(_ spec: ArchSpec, arch: String, seed: UInt64 = 0) -> Model {
        // Every zoo network is a FeatureHeadNetwork with a Linear (or SqueezeNet's 1×1 convolution) at
        // its classifier path.
        try! Model(network: spec.config.makeNetwork(), arch: arch, family: spec.family, seed: seed)
    }
}
