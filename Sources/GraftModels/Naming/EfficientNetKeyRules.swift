import GraftCore

/// timm's and efficientnet_pytorch's EfficientNet keys onto torchvision's.
///
/// torchvision numbers a block's parts by position (`features.S.B.block.i`), so where a part lands
/// depends on which parts the block has: an expansion conv shifts everything by one, a missing
/// squeeze-excitation pulls the projection forward. The tables below give each foreign part its
/// position within the parts a block actually has.
enum EfficientNetKeyRules {
    /// The torchvision layout of one block's parts, in order.
    enum Part { case expand, depthwise, squeeze, project }

    /// timm's block parts: (key fragment, part, sub-module under the part).
    /// InvertedResidual: conv_pw, bn1, conv_dw, bn2, se.conv_reduce, se.conv_expand, conv_pwl, bn3.
    static let timmInvertedResidual: [(String, Part, String)] = [
        ("conv_pw.", .expand, "0."), ("bn1.", .expand, "1."), ("conv_dw.", .depthwise, "0."), ("bn2.", .depthwise, "1."),
        ("se.conv_reduce.", .squeeze, "fc1."), ("se.conv_expand.", .squeeze, "fc2."), ("conv_pwl.", .project, "0."),
        ("bn3.", .project, "1."),
    ]
    /// DepthwiseSeparable (the first stage, and Lite's): conv_dw, bn1, se.*, conv_pw, bn2.
    static let timmDepthwiseSeparable: [(String, Part, String)] = [
        ("conv_dw.", .depthwise, "0."), ("bn1.", .depthwise, "1."), ("se.conv_reduce.", .squeeze, "fc1."),
        ("se.conv_expand.", .squeeze, "fc2."), ("conv_pw.", .project, "0."), ("bn2.", .project, "1."),
    ]
    /// efficientnet_pytorch's MBConvBlock: _expand_conv, _bn0, _depthwise_conv, _bn1, _se_reduce, _se_expand,
    /// _project_conv, _bn2.
    static let effnetPytorchBlock: [(String, Part, String)] = [
        ("_expand_conv.", .expand, "0."), ("_bn0.", .expand, "1."), ("_depthwise_conv.", .depthwise, "0."),
        ("_bn1.", .depthwise, "1."), ("_se_reduce.", .squeeze, "fc1."), ("_se_expand.", .squeeze, "fc2."),
        ("_project_conv.", .project, "0."), ("_bn2.", .project, "1."),
    ]

    /// Renames all keys; `stageLayers` places efficientnet_pytorch's flat block numbers into stages.
    static func map(_ tensors: [(name: String, tensor: LazyTensor)], scheme: NamingScheme, stageLayers: [Int]?) throws
        -> [(name: String, tensor: LazyTensor)]
    {
        let names = Set(tensors.map(\.name))
        // Block prefix → (stage, index) in torchvision's numbering.
        var blocks: [String: (stage: Int, index: Int)] = [:]
        var stageCount = 0
        switch scheme {
        case .timmEfficientNet:
            for n in names where n.hasPrefix("blocks.") {
                let parts = n.split(separator: ".")
                guard parts.count > 3, let s = Int(parts[1]), let b = Int(parts[2]) else { continue }
                blocks["blocks.\(s).\(b)."] = (s, b)
                stageCount = max(stageCount, s + 1)
            }
        case .efficientnetPytorch:
            guard let layers = stageLayers else { throw NamingError.needsStageLayout(scheme.rawValue) }
            var flat = 0
            for (s, count) in layers.enumerated() {
                for b in 0..<count { blocks["_blocks.\(flat)."] = (s, b); flat += 1 }
            }
            stageCount = layers.count
        default:
            return tensors
        }
        let head = stageCount + 1
        let table = scheme == .timmEfficientNet ? nil : effnetPytorchBlock
        return try tensors.map { entry in
            (try rename(entry.name, scheme: scheme, names: names, blocks: blocks, head: head, table: table), entry.tensor)
        }
    }

    private static func rename(_ key: String, scheme: NamingScheme, names: Set<String>,
                               blocks: [String: (stage: Int, index: Int)], head: Int,
                               table: [(String, Part, String)]?) throws -> String {
        let topLevel: [(String, String)] = scheme == .timmEfficientNet
            ? [("conv_stem.", "features.0.0."), ("bn1.", "features.0.1."), ("conv_head.", "features.\(head).0."),
               ("bn2.", "features.\(head).1."), ("classifier.", "classifier.1.")]
            : [("_conv_stem.", "features.0.0."), ("_bn0.", "features.0.1."), ("_conv_head.", "features.\(head).0."),
               ("_bn1.", "features.\(head).1."), ("_fc.", "classifier.1.")]
        if let prefix = blocks.keys.first(where: { key.hasPrefix($0) }), let place = blocks[prefix] {
            let rest = String(key.dropFirst(prefix.count))
            let has = { (fragment: String) in names.contains { $0.hasPrefix(prefix + fragment) } }
            let rules = table ?? (has("conv_pwl.") ? timmInvertedResidual : timmDepthwiseSeparable)
            // The parts this block has, in torchvision's order.
            var present: [Part] = []
            for (part, fragment) in [(Part.expand, rules.first { $0.1 == .expand }?.0),
                                     (.depthwise, rules.first { $0.1 == .depthwise }?.0),
                                     (.squeeze, rules.first { $0.1 == .squeeze }?.0),
                                     (.project, rules.first { $0.1 == .project }?.0)] {
                if let f = fragment, has(f) { present.append(part) }
            }
            for (fragment, part, sub) in rules where rest.hasPrefix(fragment) {
                guard let position = present.firstIndex(of: part) else { break }
                return "features.\(place.stage + 1).\(place.index).block.\(position).\(sub)" + rest.dropFirst(fragment.count)
            }
            throw NamingError.unmappedKey(scheme: scheme.rawValue, key: key)
        }
        for (from, to) in topLevel where key.hasPrefix(from) { return to + key.dropFirst(from.count) }
        throw NamingError.unmappedKey(scheme: scheme.rawValue, key: key)
    }
}
