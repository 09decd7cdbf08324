/// DenseNet, ShuffleNet V2 and RegNet sizes read back from a state dict's shapes (torchvision's key
/// names), for checkpoints of any width and depth (miniatures, custom builds). What the shapes do not
/// show comes from torchvision's defaults: DenseNet's dropout (0), RegNet's strides (2), BatchNorm's eps
/// and momentum.
extension ConfigInference {
    public static func densenet(_ s: [String: [Int]]) throws -> DenseNetConfig {
        let blocks = indices(s, after: "features.denseblock")
        guard !blocks.isEmpty else { throw Error.missing("features.denseblock1.denselayer1.conv1.weight") }
        var layers: [Int] = []
        for b in blocks { layers.append(indices(s, after: "features.denseblock\(b).denselayer").count) }
        let first = "features.denseblock\(blocks[0]).denselayer1."
        let growth = try shape(s, first + "conv2.weight")[0]
        let bottleneck = try shape(s, first + "conv1.weight")[0]
        return DenseNetConfig(growthRate: growth, blockConfig: layers, numInitFeatures: try shape(s, "features.conv0.weight")[0],
                              bnSize: max(1, bottleneck / max(growth, 1)), numClasses: try shape(s, "classifier.weight")[0])
    }

    public static func shufflenetV2(_ s: [String: [Int]]) throws -> ShuffleNetV2Config {
        var repeats: [Int] = [], channels = [try shape(s, "conv1.0.weight")[0]]
        for stage in 2...4 {
            let count = indices(s, after: "stage\(stage).").count
            guard count > 0 else { throw Error.missing("stage\(stage).0.branch2.0.weight") }
            repeats.append(count)
            // branch2's first 1×1 conv has half the stage's output channels.
            channels.append(2 * (try shape(s, "stage\(stage).0.branch2.0.weight")[0]))
        }
        channels.append(try shape(s, "conv5.0.weight")[0])
        return ShuffleNetV2Config(stagesRepeats: repeats, stagesOutChannels: channels, numClasses: try shape(s, "fc.weight")[0])
    }

    /// The squeeze ratio is read from the first block's widths; a ratio among the usual ones that gives
    /// every block's squeeze width is preferred.
    public static func regnet(_ s: [String: [Int]]) throws -> RegNetConfig {
        let stem = try shape(s, "stem.0.weight")[0]
        let stages = indices(s, after: "trunk_output.block")
        guard !stages.isEmpty else { throw Error.missing("trunk_output.block1.block1-0.f.a.0.weight") }
        var depths: [Int] = [], widths: [Int] = [], groupWidths: [Int] = [], multipliers: [Double] = []
        var squeezes: [(widthIn: Int, squeeze: Int)] = []
        var widthIn = stem
        for st in stages {
            let prefix = "trunk_output.block\(st).block\(st)-"
            let count = indices(s, after: prefix).count
            guard count > 0 else { throw Error.missing(prefix + "0.f.a.0.weight") }
            let first = prefix + "0.f."
            let width = try shape(s, first + "c.0.weight")[0]
            let b = try shape(s, first + "b.0.weight")  // [w_b, w_b / groups, 3, 3]
            depths.append(count)
            widths.append(width)
            groupWidths.append(try b[1])
            multipliers.append(try Double(b[0]) / Double(width))
            for i in 0..<count {
                if let fc1 = s[prefix + "\(i).f.se.fc1.weight"] { squeezes.append((i == 0 ? widthIn : width, fc1[0])) }
            }
            widthIn = width
        }
        var seRatio: Double?
        if let first = squeezes.first {
            let candidates = [0.25, 0.5, 0.125, 0.0625, 1.0]
            seRatio = candidates.first { r in squeezes.allSatisfy { RegNetConfig.squeezeWidth($0.widthIn, r) == $0.squeeze } }
                ?? Double(first.squeeze) / Double(first.widthIn)
        }
        return RegNetConfig(depths: depths, widths: widths, groupWidths: groupWidths, bottleneckMultipliers: multipliers,
                            strides: [Int](repeating: 2, count: stages.count), seRatio: seRatio, stemWidth: stem,
                            numClasses: try shape(s, "fc.weight")[0])
    }
}
