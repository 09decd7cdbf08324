import GraftCore

/// How timm names one family's keys, relative to Graft's (torchvision's) names.
public enum TimmKeyLayout: String, Sendable, Codable {
    /// ResNet, ResNeXt, Wide ResNet, DenseNet: timm keeps torchvision's keys.
    case same
    case efficientNet = "efficientnet"
    case mobileNetV3 = "mobilenetv3"
    case convnext
    case regnet
}

/// A key the timm rules cannot place, or a tensor whose shape is not the one its rule renames.
public struct TimmNamingError: Error, CustomStringConvertible, Equatable {
    public let layout: String
    public let key: String
    public let reason: String

    public var description: String { "key \(SafeText.quoted(key, quote: "'")) in timm's \(layout) layout: \(reason)" }
}

/// timm's key names onto Graft's and back, for every family both have. Templated families are pure
/// tables (`KeyRule`: a timm template, Graft's template, the shape change); EfficientNet and MobileNetV3
/// number a block's parts by which parts the block has, so their blocks go through
/// `EfficientNetKeyRules`' part tables (`TimmBlockKeyRules`).
enum TimmKeyRules {
    typealias Named = (name: String, tensor: LazyTensor)

    static let same = [KeyRule("{*}", "{*}")]

    /// timm `ConvNeXt` (conv_mlp off) ↔ torchvision `ConvNeXt`: stage s's blocks are `features.{2s+1}`,
    /// its downsample (stages 1…3) `features.{2s}`; `gamma` [C] is `layer_scale` [C, 1, 1].
    static let convnext = [
        KeyRule("stem.0.{*}", "features.0.0.{*}"), KeyRule("stem.1.{*}", "features.0.1.{*}"),
        KeyRule("stages.{s}.downsample.{i}.{*}", "features.{2s}.{i}.{*}"),
        KeyRule("stages.{s}.blocks.{b}.conv_dw.{*}", "features.{2s+1}.{b}.block.0.{*}"),
        KeyRule("stages.{s}.blocks.{b}.norm.{*}", "features.{2s+1}.{b}.block.2.{*}"),
        KeyRule("stages.{s}.blocks.{b}.mlp.fc1.{*}", "features.{2s+1}.{b}.block.3.{*}"),
        KeyRule("stages.{s}.blocks.{b}.mlp.fc2.{*}", "features.{2s+1}.{b}.block.5.{*}"),
        KeyRule("stages.{s}.blocks.{b}.gamma", "features.{2s+1}.{b}.layer_scale", foreignExtraDims: -2),
        KeyRule("head.norm.{*}", "classifier.0.{*}"), KeyRule("head.fc.{*}", "classifier.2.{*}"),
    ]

    /// timm `RegNet` ↔ torchvision `RegNet`: stage `s{s}` block `b{b}` (from 1) is
    /// `trunk_output.block{s}.block{s}-{b-1}`; conv1/conv2/conv3 are `f.a`/`f.b`/`f.c`, downsample `proj`.
    static let regnet: [KeyRule] = {
        let block = "trunk_output.block{s}.block{s}-{b-1}"
        let parts = [("conv1.conv", "f.a.0"), ("conv1.bn", "f.a.1"), ("conv2.conv", "f.b.0"), ("conv2.bn", "f.b.1"),
                     ("se.fc1", "f.se.fc1"), ("se.fc2", "f.se.fc2"), ("conv3.conv", "f.c.0"), ("conv3.bn", "f.c.1"),
                     ("downsample.conv", "proj.0"), ("downsample.bn", "proj.1")]
        return [KeyRule("stem.conv.{*}", "stem.0.{*}"), KeyRule("stem.bn.{*}", "stem.1.{*}"), KeyRule("head.fc.{*}", "fc.{*}")]
            + parts.map { KeyRule("s{s}.b{b}.\($0.0).{*}", "\(block).\($0.1).{*}") }
    }()

    /// EfficientNet's stem, head and classifier; `head` is the head's `features` index (stages + 1).
    static func efficientNetTop(head: Int) -> [KeyRule] {
        [KeyRule("conv_stem.{*}", "features.0.0.{*}"), KeyRule("bn1.{*}", "features.0.1.{*}"),
         KeyRule("conv_head.{*}", "features.\(head).0.{*}"), KeyRule("bn2.{*}", "features.\(head).1.{*}"),
         KeyRule("classifier.{*}", "classifier.1.{*}")]
    }

    /// MobileNetV3's stem and head: timm's `conv_head` is a biased 1×1 convolution on the pooled map,
    /// torchvision's `classifier.0` the same product as a Linear.
    static let mobileNetV3Top = [
        KeyRule("conv_stem.{*}", "features.0.0.{*}"), KeyRule("bn1.{*}", "features.0.1.{*}"),
        KeyRule("conv_head.weight", "classifier.0.weight", foreignExtraDims: 2), KeyRule("conv_head.bias", "classifier.0.bias"),
        KeyRule("classifier.{*}", "classifier.3.{*}"),
    ]

    static func rules(_ layout: TimmKeyLayout) -> [KeyRule] {
        switch layout {
        case .same: return same
        case .convnext: return convnext
        case .regnet: return regnet
        case .mobileNetV3: return mobileNetV3Top
        case .efficientNet: return []
        }
    }

    /// timm's keys (of a timm folder) under Graft's names, tensors reshaped where the rule says.
    static func toGraft(_ tensors: [Named], layout: TimmKeyLayout) throws -> [Named] {
        switch layout {
        case .efficientNet:
            do { return try EfficientNetKeyRules.map(tensors, scheme: .timmEfficientNet, stageLayers: nil) } catch let e as NamingError {
                throw TimmNamingError(layout: layout.rawValue, key: "", reason: e.description)
            }
        case .mobileNetV3:
            let blocks = try TimmBlockKeyRules.mobileNetV3ToGraft(tensors)
            return try tensors.map { t in try blocks[t.name].map { (name: $0, tensor: t.tensor) } ?? apply(rules(layout), t, layout, toGraft: true) }
        default:
            return try tensors.map { try apply(rules(layout), $0, layout, toGraft: true) }
        }
    }

    /// Graft's keys under timm's names (`graft export --format timm`).
    static func toTimm(_ tensors: [Named], layout: TimmKeyLayout) throws -> [Named] {
        switch layout {
        case .efficientNet:
            let blocks = try TimmBlockKeyRules.efficientNetToTimm(tensors)
            let head = tensors.compactMap { t -> Int? in
                let parts = t.name.split(separator: ".")
                return parts.count > 1 && parts[0] == "features" ? Int(parts[1]) : nil
            }.max() ?? 0
            return try tensors.map { t in try blocks[t.name].map { (name: $0, tensor: t.tensor) } ?? apply(efficientNetTop(head: head), t, layout, toGraft: false) }
        case .mobileNetV3:
            let blocks = try TimmBlockKeyRules.mobileNetV3ToTimm(tensors)
            return try tensors.map { t in try blocks[t.name].map { (name: $0, tensor: t.tensor) } ?? apply(rules(layout), t, layout, toGraft: false) }
        default:
            return try tensors.map { try apply(rules(layout), $0, layout, toGraft: false) }
        }
    }

    /// The first rule whose template on the source side matches, rendered on the other side.
    static func apply(_ rules: [KeyRule], _ entry: Named, _ layout: TimmKeyLayout, toGraft: Bool) throws -> Named {
        for rule in rules {
            let (from, to) = toGraft ? (rule.foreign, rule.graft) : (rule.graft, rule.foreign)
            guard let bound = from.match(entry.name), let name = to.render(bound.values, rest: bound.rest) else { continue }
            let change = toGraft ? -rule.foreignExtraDims : rule.foreignExtraDims
            guard change != 0 else { return (name, entry.tensor) }
            guard let shape = KeyRule.reshaped(entry.tensor.shape, addingOnes: change) else {
                throw TimmNamingError(layout: layout.rawValue, key: entry.name,
                                      reason: "shape \(entry.tensor.shape) is not the one \(SafeText.quoted(name, quote: "'")) takes")
            }
            let source = entry.tensor
            return (name, LazyTensor(dtype: source.dtype, shape: shape) { try source.load().data })
        }
        throw TimmNamingError(layout: layout.rawValue, key: entry.name, reason: "no rule places it")
    }
}
