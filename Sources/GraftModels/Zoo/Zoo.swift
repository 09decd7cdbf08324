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

    /// Builds the graph, taking every parameter from `source` (strictness is the source's).
    public static func build(_ spec: ArchSpec, arch: String, source: ParameterSource, seed: UInt64 = 0) -> Model {
        let vb = VarBuilder(source)
        let random = RandomSource(seed: seed)
        switch spec {
        case .resnet(let c): return ResNetBuilder.build(c, arch: arch, vb: vb, random: random)
        case .vgg(let c): return VGGBuilder.build(c, arch: arch, vb: vb, random: random)
        case .efficientnet(let c): return EfficientNetBuilder.build(c, arch: arch, vb: vb, random: random)
        }
    }
}
