/// Every number needed to build a torchvision VGG: the feature configuration (channel counts and
/// max-pool markers), batch norm or not, and the classifier's hidden width.
public struct VGGConfig: Codable, Sendable, Equatable {
    /// A channel count (3×3 conv, padding 1, with bias) or a 2×2 stride-2 max pool.
    public enum Item: Codable, Sendable, Equatable {
        case conv(Int)
        case pool

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let n = try? c.decode(Int.self) { self = .conv(n); return }
            guard try c.decode(String.self) == "M" else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a channel count or \"M\"")
            }
            self = .pool
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .conv(let n): try c.encode(n)
            case .pool: try c.encode("M")
            }
        }
    }

    public var items: [Item]
    public var batchNorm: Bool
    public var hidden: Int = 4096
    public var numClasses: Int = 1000
    /// Keras' top: flatten the last feature map as it is (no adaptive pooling: the model has a fixed
    /// input size), ReLU dense layers without dropout. The value is fc1's input width (C·H·W).
    public var kerasFlattenFeatures: Int?

    public init(items: [Item], batchNorm: Bool, hidden: Int = 4096, numClasses: Int = 1000) {
        self.items = items
        self.batchNorm = batchNorm
        self.hidden = hidden
        self.numClasses = numClasses
    }

    /// torchvision's `cfgs` A, B, D, E.
    static let cfgs: [String: [Item]] = [
        "vgg11": [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0].map { $0 == 0 ? .pool : .conv($0) },
        "vgg13": [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0].map { $0 == 0 ? .pool : .conv($0) },
        "vgg16": [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0]
            .map { $0 == 0 ? .pool : .conv($0) },
        "vgg19": [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0]
            .map { $0 == 0 ? .pool : .conv($0) },
    ]

    public static let named: [String: VGGConfig] = {
        var out: [String: VGGConfig] = [:]
        for (name, items) in cfgs {
            out[name] = VGGConfig(items: items, batchNorm: false)
            out[name + "_bn"] = VGGConfig(items: items, batchNorm: true)
        }
        for (keras, name) in [("VGG16", "vgg16"), ("VGG19", "vgg19")] {
            var c = VGGConfig(items: cfgs[name]!, batchNorm: false)
            c.kerasFlattenFeatures = 512 * 7 * 7
            out[keras] = c
        }
        return out
    }()
}
