/// MobileNetV2, MobileNetV3 and MNASNet read back from a state dict: every width, expansion, kernel
/// size and squeeze-excitation shows in the tensors (so width multipliers and MNASNet's alphas, and its
/// version-1 stem, need no name). Strides and activations do not show: they come from the torchvision
/// member with the same number of blocks (MobileNetV2's 17, MobileNetV3-Small's 11 or -Large's 15,
/// MNASNet's six stacks), as every width multiplier keeps those.
extension ConfigInference {
    /// The checkpoint's layout differs from every torchvision member of the family in what its shapes
    /// cannot show (the strides and activations of its blocks).
    public struct LayoutMismatch: Swift.Error, CustomStringConvertible, Equatable {
        public let text: String
        public var description: String { "cannot infer the architecture: \(text)" }
    }

    /// The block indices under `prefix` whose keys continue with `.child.` (`features.3.conv.…`).
    static func blockIndices(_ s: Shapes, _ prefix: String, child: String) -> [Int] {
        indices(s, after: prefix).filter { i in s.keys.contains { $0.hasPrefix("\(prefix)\(i).\(child).") } }
    }

    public static func mobilenetV2(_ s: [String: [Int]]) throws -> MobileNetV2Config {
        let template = MobileNetV2Config.torchvision()
        let found = blockIndices(s, "features.", child: "conv")
        guard found.count == template.blocks.count else {
            throw LayoutMismatch(text: "\(found.count) MobileNetV2 blocks, torchvision's has \(template.blocks.count)")
        }
        var blocks: [MobileNetV2Config.Block] = []
        for (b, i) in found.enumerated() {
            let p = "features.\(i).conv."
            let first = try shape(s, p + "0.0.weight")
            let parts = indices(s, after: p)
            let project = try shape(s, p + "\((parts.last ?? 1) - 1).weight")  // the Conv2d before the last BN
            let expanded = try first[2] == 1  // a 1×1 expansion before the 3×3 depthwise
            blocks.append(try .init(inChannels: expanded ? first[1] : first[0], expandedChannels: first[0],
                                outChannels: project[0], stride: template.blocks[b].stride))
        }
        let last = (found.last ?? 0) + 1
        return MobileNetV2Config(stemChannels: try shape(s, "features.0.0.weight")[0], blocks: blocks,
                                 lastChannels: try shape(s, "features.\(last).0.weight")[0],
                                 numClasses: try shape(s, "classifier.1.weight")[0])
    }

    public static func mobilenetV3(_ s: [String: [Int]]) throws -> MobileNetV3Config {
        let found = blockIndices(s, "features.", child: "block")
        let small = MobileNetV3Config.torchvision(.small), large = MobileNetV3Config.torchvision(.large)
        guard let template = [small, large].first(where: { $0.blocks.count == found.count }) else {
            throw LayoutMismatch(text: "\(found.count) MobileNetV3 blocks, torchvision's Small has \(small.blocks.count) "
                               + "and Large \(large.blocks.count)")
        }
        var blocks: [MobileNetV3Config.Block] = []
        for (b, i) in found.enumerated() {
            let p = "features.\(i).block."
            let first = try shape(s, p + "0.0.weight")
            let expanded = try first[2] == 1  // a 1×1 expansion before the k×k depthwise
            let depthwise = expanded ? try shape(s, p + "1.0.weight") : first
            let parts = indices(s, after: p)
            let project = try shape(s, p + "\(parts.last ?? 0).0.weight")
            let hasSE = s.keys.contains { $0.hasPrefix(p) && $0.contains(".fc1.") }
            blocks.append(try .init(inChannels: expanded ? first[1] : first[0], kernel: depthwise[2], expandedChannels: first[0],
                                outChannels: project[0], squeezeExcitation: hasSE, hardswish: template.blocks[b].hardswish,
                                stride: template.blocks[b].stride))
        }
        var c = MobileNetV3Config(blocks: blocks, lastChannels: try shape(s, "classifier.0.weight")[0],
                                  numClasses: try shape(s, "classifier.3.weight")[0])
        c.dropout = template.dropout
        return c
    }

    public static func mnasnet(_ s: [String: [Int]]) throws -> MNASNetConfig {
        let template = MNASNetConfig.torchvision(alpha: 1)
        let found = indices(s, after: "layers.").filter { s["layers.\($0).0.layers.0.weight"] != nil }
        guard found.count == template.stacks.count else {
            throw LayoutMismatch(text: "\(found.count) MNASNet stacks, torchvision's has \(template.stacks.count)")
        }
        var stacks: [MNASNetConfig.Stack] = []
        for (k, i) in found.enumerated() {
            let p = "layers.\(i).0.layers."
            let expand = try shape(s, p + "0.weight")
            stacks.append(try .init(inChannels: expand[1], outChannels: try shape(s, p + "6.weight")[0],
                                kernel: try shape(s, p + "3.weight")[2], stride: template.stacks[k].stride,
                                expansion: expand[0] / max(expand[1], 1), repeats: indices(s, after: "layers.\(i).").count))
        }
        let head = (found.last ?? 7) + 1
        return MNASNetConfig(stemChannels: try shape(s, "layers.0.weight")[0], separableChannels: try shape(s, "layers.6.weight")[0],
                             stacks: stacks, headChannels: try shape(s, "layers.\(head).weight")[0],
                             numClasses: try shape(s, "classifier.1.weight")[0])
    }
}
