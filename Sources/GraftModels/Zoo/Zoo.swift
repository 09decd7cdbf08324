import GraftCore
import GraftNN
import GraftStore

/// An architecture: its family and every number needed to build it.
public enum ArchSpec: Sendable, Equatable {
    case resnet(ResNetConfig)
    case vgg(VGGConfig)
    case efficientnet(EfficientNetConfig)

    public var family: Model.Family {
        switch self {
        case .resnet: return .resnet
        case .vgg: return .vgg
        case .efficientnet: return .efficientnet
        }
    }

    public var numClasses: Int {
        switch self {
        case .resnet(let c): return c.numClasses
        case .vgg(let c): return c.numClasses
        case .efficientnet(let c): return c.numClasses
        }
    }

    public func withClasses(_ n: Int) -> ArchSpec {
        switch self {
        case .resnet(var c): c.numClasses = n; return .resnet(c)
        case .vgg(var c): c.numClasses = n; return .vgg(c)
        case .efficientnet(var c): c.numClasses = n; return .efficientnet(c)
        }
    }

    /// The classifier's weight key, to read a checkpoint's class count.
    public var classifierKey: String {
        switch self {
        case .resnet: return "fc.weight"
        case .vgg: return "classifier.6.weight"
        case .efficientnet: return "classifier.1.weight"
        }
    }
}

public enum ZooError: Error, CustomStringConvertible, Equatable {
    case unknownArch(String)

    public var description: String {
        switch self {
        case .unknownArch(let a):
            return "unknown architecture '\(a)'; known: \(Zoo.archNames.joined(separator: ", ")), "
                + "or a family whose sizes are read from the checkpoint: \(Zoo.families.joined(separator: ", "))"
        }
    }
}

/// The named architectures (torchvision's builder names) and the families.
public enum Zoo {
    public static let archNames: [String] =
        (ResNetConfig.named.keys.sorted() + VGGConfig.named.keys.sorted() + EfficientNetConfig.named.keys.sorted())

    /// Family names: sizes are read from the checkpoint, the rest comes from the family's first member.
    public static let families = ["resnet", "vgg", "efficientnet", "efficientnet_v2", "efficientnet_lite"]

    public static func spec(named arch: String) -> ArchSpec? {
        if let c = ResNetConfig.named[arch] { return .resnet(c) }
        if let c = VGGConfig.named[arch] { return .vgg(c) }
        if let c = EfficientNetConfig.named[arch] { return .efficientnet(c) }
        return nil
    }

    /// A family's architecture with sizes read from a checkpoint's shapes.
    public static func inferSpec(family: String, shapes: [String: [Int]]) throws -> ArchSpec {
        switch family {
        case "resnet": return .resnet(try ConfigInference.resnet(shapes))
        case "vgg": return .vgg(try ConfigInference.vgg(shapes))
        case "efficientnet", "efficientnet_v2", "efficientnet_lite":
            let base = ["efficientnet": "efficientnet_b0", "efficientnet_v2": "efficientnet_v2_s",
                        "efficientnet_lite": "efficientnet_lite0"][family]!
            return .efficientnet(try ConfigInference.efficientnet(shapes, like: EfficientNetConfig.named[base]!))
        default: throw ZooError.unknownArch(family)
        }
    }

    /// The network of an architecture, parameters zero (load a state dict or `initialize` next).
    public static func network(_ spec: ArchSpec) -> Module {
        switch spec {
        case .resnet(let c): return ResNet(c)
        case .vgg(let c): return VGG(c)
        case .efficientnet(let c): return EfficientNet(c)
        }
    }

    /// The architecture's network wrapped as a `Model`, with the family Keras configs imply.
    public static func model(_ spec: ArchSpec, arch: String, seed: UInt64 = 0) -> Model {
        let family: Model.Family
        switch spec {
        case .resnet(let c): family = c.style == .keras ? .kerasResNet : .resnet
        case .vgg(let c): family = c.kerasFlattenFeatures != nil ? .kerasVGG : .vgg
        case .efficientnet(let c): family = c.kerasInputNormalization ? .kerasEfficientNet : .efficientnet
        }
        // Every zoo network is a FeatureHeadNetwork with a Linear at its classifier path.
        return try! Model(network: network(spec), arch: arch, family: family, seed: seed)
    }
}
