import GraftCore

/// Reads an architecture's numbers back from a state dict's shapes, for the family names (`resnet`,
/// `vgg`, `efficientnet`, `efficientnet_v2`, `efficientnet_lite`): widths, block counts, groups,
/// expansion ratios, kernel sizes and class counts all show in the tensors. What does not (strides,
/// activations, BatchNorm eps, padding convention) comes from the family.
public enum ConfigInference {
    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case missing(String)
        /// A key whose shape no architecture has: too few dimensions, or a width of 0 or beyond 2^20.
        case badShape(key: String, shape: [Int], dimension: Int)

        public var description: String {
            switch self {
            case .missing(let k): return "cannot infer the architecture: no \(SafeText.quoted(k, quote: "'")) in the checkpoint"
            case .badShape(let k, let shape, let d):
                return "cannot infer the architecture: \(SafeText.quoted(k, quote: "'")) has shape \(Array(shape.prefix(8))), "
                    + "with no plausible size in dimension \(d)"
            }
        }
    }

    typealias Shapes = [String: [Int]]

    /// A checkpoint key's shape, read through checks: the file is untrusted, so a rank too small or a
    /// width of 0 (a division) or beyond 2^20 (an allocation) is an error naming the key, not a trap.
    struct Dims {
        let key: String
        let values: [Int]
        var count: Int { values.count }
        subscript(_ i: Int) -> Int {
            get throws {
                guard i >= 0, i < values.count, values[i] >= 1, values[i] <= 1 << 20 else {
                    throw Error.badShape(key: key, shape: values, dimension: i)
                }
                return values[i]
            }
        }
    }

    static func shape(_ s: Shapes, _ key: String) throws -> Dims {
        guard let v = s[key] else { throw Error.missing(key) }
        return Dims(key: key, values: v)
    }

    /// Distinct integer indices that appear right after `prefix` (`layer1.` → 0, 1, …).
    static func indices(_ s: Shapes, after prefix: String) -> [Int] {
        Set(s.keys.compactMap { k -> Int? in
            guard k.hasPrefix(prefix) else { return nil }
            return Int(k.dropFirst(prefix.count).prefix { $0 != "." })
        }).sorted()
    }

    public static func resnet(_ s: [String: [Int]]) throws -> ResNetConfig {
        let bottleneck = s["layer1.0.conv3.weight"] != nil
        var widths: [Int] = [], layers: [Int] = []
        for stage in 1...4 {
            let count = indices(s, after: "layer\(stage).").count
            guard count > 0 else { throw Error.missing("layer\(stage).0") }
            layers.append(count)
            let out = try shape(s, "layer\(stage).0.conv\(bottleneck ? 3 : 2).weight")[0]
            widths.append(bottleneck ? out / 4 : out)
        }
        var c = ResNetConfig(block: bottleneck ? .bottleneck : .basic, layers: layers, widths: widths,
                             numClasses: try shape(s, "fc.weight")[0])
        // Recorded only when it differs from the first stage, as the named configs leave it unset.
        let stem = try shape(s, "conv1.weight")[0]
        c.stemWidth = stem == widths[0] ? nil : stem
        if bottleneck {
            let conv2 = try shape(s, "layer1.0.conv2.weight")  // [width, width / groups, 3, 3]
            c.groups = try max(1, conv2[0] / max(conv2[1], 1))
            c.widthPerGroup = try conv2[0] / c.groups * 64 / max(widths[0], 1)
        }
        return c
    }

    public static func vgg(_ s: [String: [Int]]) throws -> VGGConfig {
        let convs = indices(s, after: "features.").filter { s["features.\($0).weight"]?.count == 4 }
        guard let first = convs.first else { throw Error.missing("features.0.weight") }
        let batchNorm = s["features.\(first + 1).running_mean"] != nil
        let step = batchNorm ? 3 : 2
        var items: [VGGConfig.Item] = []
        for (i, index) in convs.enumerated() {
            items.append(.conv(try shape(s, "features.\(index).weight")[0]))
            // A gap of one more index than conv(+bn)+relu is a max pool; VGG always ends with one.
            let next = i + 1 < convs.count ? convs[i + 1] : index + step + 1
            if next - index > step { items.append(.pool) }
        }
        let hidden = try shape(s, "classifier.0.weight")[0]
        return VGGConfig(items: items, batchNorm: batchNorm, hidden: hidden, numClasses: try shape(s, "classifier.6.weight")[0])
    }

    /// `variant` supplies strides, activation, eps and padding: a named config of the same family.
    public static func efficientnet(_ s: [String: [Int]], like variant: EfficientNetConfig) throws -> EfficientNetConfig {
        let stageIndices = indices(s, after: "features.").filter { s["features.\($0).0.block.0.0.weight"] != nil }
        var stages: [EfficientNetConfig.Stage] = []
        for (i, si) in stageIndices.enumerated() {
            let count = indices(s, after: "features.\(si).").count
            let p = "features.\(si).0.block."
            let w0 = try shape(s, p + "0.0.weight")
            let template = i < variant.stages.count ? variant.stages[i] : variant.stages[variant.stages.count - 1]
            let hasSE = s.keys.contains { $0.hasPrefix(p) && $0.contains(".fc1.") }
            let stage: EfficientNetConfig.Stage
            if try w0[1] == 1 && w0[0] > 1 {  // depthwise first: MBConv without expansion
                let project = try lastConv(s, p)
                stage = try .init(kind: .mbconv, expandRatio: 1, kernel: w0[2], stride: template.stride, inChannels: w0[0],
                              outChannels: project, layers: count, seRatio: hasSE ? 0.25 : nil)
            } else if try w0[2] == 1 {  // 1×1 expansion then depthwise: MBConv
                let dw = try shape(s, p + "1.0.weight")
                stage = try .init(kind: .mbconv, expandRatio: w0[0] / w0[1], kernel: dw[2], stride: template.stride,
                              inChannels: w0[1], outChannels: try lastConv(s, p), layers: count, seRatio: hasSE ? 0.25 : nil)
            } else {  // a full k×k conv first: FusedMBConv
                let project = s[p + "1.0.weight"]
                stage = try .init(kind: .fused, expandRatio: project == nil ? 1 : w0[0] / w0[1], kernel: w0[2], stride: template.stride,
                              inChannels: w0[1], outChannels: project?[0] ?? w0[0], layers: count, seRatio: nil)
            }
            stages.append(stage)
        }
        guard let last = stageIndices.last else { throw Error.missing("features.1.0.block.0.0.weight") }
        var c = variant
        c.stages = stages
        c.stemChannels = try shape(s, "features.0.0.weight")[0]
        c.headChannels = try shape(s, "features.\(last + 1).0.weight")[0]
        c.numClasses = try shape(s, "classifier.1.weight")[0]
        return c
    }

    /// The output channels of a block's last convolution (its projection).
    private static func lastConv(_ s: Shapes, _ prefix: String) throws -> Int {
        let parts = indices(s, after: prefix)
        guard let last = parts.last else { throw Error.missing(prefix + "0.0.weight") }
        return try shape(s, prefix + "\(last).0.weight")[0]
    }
}
