import GraftCore

/// The key layouts Graft maps onto its graphs. torchvision's are the canonical names; the others are
/// renamed by the rule tables in this folder before the state dict is loaded into the graph.
public enum NamingScheme: String, Sendable, Codable, CaseIterable {
    case torchvision
    case timmEfficientNet = "timm-efficientnet"
    case timmVGG = "timm-vgg"
    case efficientnetPytorch = "efficientnet_pytorch"
    case keras
    /// A timm hub folder: its keys are mapped onto torchvision's by `TimmKeyRules` as the folder is
    /// opened (`WeightStore.openCheckpoint`), so nothing downstream renames them again.
    case timm

    public var summary: String {
        switch self {
        case .torchvision: return "torchvision state-dict keys (timm's ResNet keys are the same)"
        case .timmEfficientNet: return "timm EfficientNet keys (conv_stem, blocks.S.B.conv_dw, conv_head, classifier)"
        case .timmVGG: return "timm VGG keys (pre_logits.fc1/fc2 as convolutions, head.fc)"
        case .efficientnetPytorch: return "efficientnet_pytorch keys (_conv_stem, _blocks.N._depthwise_conv, _fc)"
        case .keras: return "Keras layer names (conv2_block1_1_conv/kernel, …)"
        case .timm: return "timm hub folder keys (stages.0.blocks.0.conv_dw, s1.b1.conv1.conv, …), mapped by the timm rule tables"
        }
    }

    /// Recognizes a scheme from characteristic keys.
    public static func detect(_ names: [String]) -> NamingScheme {
        let set = Set(names)
        if set.contains("_conv_stem.weight") || names.contains(where: { $0.hasPrefix("_blocks.") }) { return .efficientnetPytorch }
        if set.contains("conv_stem.weight") || names.contains(where: { $0.hasPrefix("blocks.0.0.") }) { return .timmEfficientNet }
        if set.contains("pre_logits.fc1.weight") || set.contains("head.fc.weight") && names.contains(where: { $0.hasPrefix("features.") }) {
            return .timmVGG
        }
        if names.contains(where: { $0.contains("/") }) { return .keras }
        return .torchvision
    }
}

public enum NamingError: Error, CustomStringConvertible, Equatable {
    case unmappedKey(scheme: String, key: String)
    case needsStageLayout(String)

    public var description: String {
        switch self {
        case .unmappedKey(let s, let k): return "key '\(k)' has no counterpart in the \(s) rules"
        case .needsStageLayout(let s): return "\(s) keys number blocks globally; the architecture's stage sizes are needed (--arch)"
        }
    }
}
