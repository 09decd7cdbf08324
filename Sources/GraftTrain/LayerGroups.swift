import GraftModels
import GraftNN

/// How a model's parameters split into layer groups for discriminative learning rates, by parameter
/// name — the module paths of torchvision's state dict.
///
/// Standard groups follow fastai's splitters: ResNet `stem…layer2 | layer3…layer4 | head`; VGG-BN
/// `features[:22] | features[22:] + hidden classifier | head`; other VGG `body | head`; EfficientNet
/// `stem + early stages | late stages + head conv | head`; every other family: the body's blocks (its
/// fine groups) split in two halves by order | head. Fine groups follow timm's layer decay: the stem,
/// then every block, then the head.
public enum LayerGroups {
    /// The standard groups (the classifier last).
    public static func standard(_ model: Model) -> [(name: String, parameters: [Parameter])] {
        // Facts about the whole model, worked out once rather than per parameter.
        let hasBN = model.namedParameters().contains { $0.name.hasSuffix("running_mean") }
        let stages = lastFeatureIndex(model) + 1
        let earlyBlocks = earlyHalf(model)
        return split(model) { name -> Int in
            if isHead(name, model) { return 2 }
            switch model.family {
            case .resnet, .kerasResNet:
                return ["conv1.", "bn1.", "layer1.", "layer2."].contains { name.hasPrefix($0) } ? 0 : 1
            case .vgg, .kerasVGG:
                guard hasBN else { return 1 }
                if let i = index(name, after: "features.") { return i < 22 ? 0 : 1 }
                return 1
            case .efficientnet, .kerasEfficientNet:
                if let i = index(name, after: "features.") { return i < (stages + 1) / 2 ? 0 : 1 }
                return 1
            case .custom:
                return 1
            default:
                return earlyBlocks.contains(fineKey(name, model, lastFeature: stages - 1)) ? 0 : 1
            }
        }
    }

    /// The first half of the body's fine groups (by first appearance), for the families without a
    /// rule of their own.
    private static func earlyHalf(_ model: Model) -> Set<String> {
        let last = lastFeatureIndex(model)
        var order: [String] = []
        for (name, _) in model.namedParameters() where !isHead(name, model) {
            let key = fineKey(name, model, lastFeature: last)
            if key != "head", order.last != key, !order.contains(key) { order.append(key) }
        }
        return Set(order.prefix(order.count / 2))
    }

    /// timm-style fine groups for layer-wise decay: stem, each block, head (conv_head joins the head).
    public static func fine(_ model: Model) -> [(name: String, parameters: [Parameter])] {
        var keys: [String] = []
        var groups: [String: [Parameter]] = [:]
        let last = lastFeatureIndex(model)
        for (name, p) in model.namedParameters() {
            let key = fineKey(name, model, lastFeature: last)
            if groups[key] == nil { keys.append(key) }
            groups[key, default: []].append(p)
        }
        return keys.map { ($0, groups[$0] ?? []) }
    }

    /// Groups starting at each of `boundaries` (parameter-name prefixes); what precedes the first is
    /// group 0.
    public static func custom(_ model: Model, boundaries: [String]) -> [(name: String, parameters: [Parameter])] {
        var current = 0
        var out: [(name: String, parameters: [Parameter])] = [("group0", [])]
        for (name, p) in model.namedParameters() {
            if current < boundaries.count, name.hasPrefix(boundaries[current]) {
                current += 1
                out.append(("group\(current)", []))
            }
            out[out.count - 1].parameters.append(p)
        }
        return out.filter { !$0.parameters.isEmpty }
    }

    static func isHead(_ name: String, _ model: Model) -> Bool { name.hasPrefix(model.classifierPath + ".") }

    /// The integer right after `prefix` in a dotted name (`features.12.0.weight` → 12).
    static func index(_ name: String, after prefix: String) -> Int? {
        guard name.hasPrefix(prefix) else { return nil }
        return Int(name.dropFirst(prefix.count).prefix { $0 != "." })
    }

    /// The highest `features.N` index among the parameters (EfficientNet's head conv), 0 if none.
    private static func lastFeatureIndex(_ model: Model) -> Int {
        model.namedParameters().compactMap { index($0.name, after: "features.") }.max() ?? 0
    }

    private static func fineKey(_ name: String, _ model: Model, lastFeature count: Int) -> String {
        if isHead(name, model) { return "head" }
        let parts = name.split(separator: ".")
        switch model.family {
        case .resnet, .kerasResNet:
            return parts.first?.hasPrefix("layer") == true && parts.count > 2 ? "\(parts[0]).\(parts[1])" : "stem"
        case .efficientnet, .kerasEfficientNet:
            guard let i = index(name, after: "features.") else { return "head" }
            if i == 0 { return "stem" }
            if i == count { return "head" }
            return parts.count > 2 ? "features.\(i).\(parts[2])" : "features.\(i)"
        case .vgg, .kerasVGG, .custom, .alexnet, .squeezenet, .mobilenetV2, .mobilenetV3, .mnasnet:
            return parts.count > 2 ? "\(parts[0]).\(parts[1])" : "\(parts[0])"
        case .convnext, .densenet, .regnet:
            // Blocks sit two levels down (features.1.0, features.denseblock1.denselayer1,
            // trunk_output.block1.block1-0); downsampling layers and transitions one level down.
            return parts.count > 3 ? parts.prefix(3).joined(separator: ".") : parts.dropLast().prefix(2).joined(separator: ".")
        case .shufflenetV2:
            return parts.count > 3 ? "\(parts[0]).\(parts[1])" : "\(parts[0])"
        case .googlenet, .inceptionV3:
            return String(parts[0])
        }
    }

    private static func split(_ model: Model, _ assign: (String) -> Int) -> [(name: String, parameters: [Parameter])] {
        var groups: [[Parameter]] = [[], [], []]
        for (name, p) in model.namedParameters() { groups[assign(name)].append(p) }
        let named = groups.enumerated().map { (i, ps) in (name: i == 2 ? "head" : "group\(i)", parameters: ps) }
        return named.filter { !$0.parameters.isEmpty }
    }
}
