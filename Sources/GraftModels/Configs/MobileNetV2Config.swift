/// Every number needed to build torchvision's MobileNetV2 (torchvision/models/mobilenetv2.py): the stem
/// width, each inverted residual block as torchvision's `(t, c, n, s)` table expands to them, and the
/// width of the last 1×1 convolution. ReLU6 throughout, BatchNorm eps 1e-5, a 3×3 depthwise kernel.
public struct MobileNetV2Config: Codable, Sendable, Equatable {
    /// One `InvertedResidual`: `expandedChannels == inChannels` means no 1×1 expansion (t = 1).
    public struct Block: Codable, Sendable, Equatable {
        public var inChannels: Int
        public var expandedChannels: Int
        public var outChannels: Int
        public var stride: Int

        public init(inChannels: Int, expandedChannels: Int, outChannels: Int, stride: Int) {
            self.inChannels = inChannels
            self.expandedChannels = expandedChannels
            self.outChannels = outChannels
            self.stride = stride
        }
    }

    public var stemChannels: Int
    public var blocks: [Block]
    public var lastChannels: Int
    public var dropout: Float = 0.2
    public var numClasses: Int = 1000

    public init(stemChannels: Int, blocks: [Block], lastChannels: Int, dropout: Float = 0.2, numClasses: Int = 1000) {
        self.stemChannels = stemChannels
        self.blocks = blocks
        self.lastChannels = lastChannels
        self.dropout = dropout
        self.numClasses = numClasses
    }

    /// torchvision's `inverted_residual_setting`: (expand ratio t, channels c, repeats n, stride s).
    static let table: [(t: Int, c: Int, n: Int, s: Int)] = [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    /// `MobileNetV2(width_mult:)`: every width `_make_divisible(c · width, 8)`, the last conv
    /// `_make_divisible(1280 · max(1, width), 8)`.
    public static func torchvision(widthMult: Double = 1.0, numClasses: Int = 1000) -> MobileNetV2Config {
        let divisible = { (v: Double) in EfficientNetConfig.makeDivisible(v) }
        var input = divisible(32 * widthMult)
        let stem = input
        var blocks: [Block] = []
        for row in table {
            let output = divisible(Double(row.c) * widthMult)
            for i in 0..<row.n {
                blocks.append(Block(inChannels: input, expandedChannels: input * row.t, outChannels: output,
                                    stride: i == 0 ? row.s : 1))
                input = output
            }
        }
        return MobileNetV2Config(stemChannels: stem, blocks: blocks, lastChannels: divisible(1280 * max(1, widthMult)),
                                 numClasses: numClasses)
    }

    public static let named: [String: MobileNetV2Config] = ["mobilenet_v2": .torchvision()]
}
