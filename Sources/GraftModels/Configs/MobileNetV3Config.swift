/// Every number needed to build torchvision's MobileNetV3 (torchvision/models/mobilenetv3.py): the
/// blocks of the paper's tables 1 and 2 after width scaling (`InvertedResidualConfig`), and the
/// classifier's hidden width (`last_channel`). The stem has the first block's input width, the last
/// 1×1 convolution six times the last block's output; BatchNorm eps 0.001, momentum 0.01.
public struct MobileNetV3Config: Codable, Sendable, Equatable {
    /// One `InvertedResidual`: a 1×1 expansion when `expandedChannels != inChannels`, the depthwise
    /// `kernel`, squeeze-excitation (squeeze width `_make_divisible(expanded // 4, 8)`, Hardsigmoid
    /// scale) when `squeezeExcitation`, Hardswish or ReLU.
    public struct Block: Codable, Sendable, Equatable {
        public var inChannels: Int
        public var kernel: Int
        public var expandedChannels: Int
        public var outChannels: Int
        public var squeezeExcitation: Bool
        public var hardswish: Bool
        public var stride: Int

        public init(inChannels: Int, kernel: Int, expandedChannels: Int, outChannels: Int, squeezeExcitation: Bool,
                    hardswish: Bool, stride: Int) {
            self.inChannels = inChannels
            self.kernel = kernel
            self.expandedChannels = expandedChannels
            self.outChannels = outChannels
            self.squeezeExcitation = squeezeExcitation
            self.hardswish = hardswish
            self.stride = stride
        }

        /// torchvision's SE squeeze width for this block.
        public var squeezeChannels: Int { EfficientNetConfig.makeDivisible(Double(expandedChannels / 4)) }
    }

    public var blocks: [Block]
    /// The hidden Linear's width in the classifier (`last_channel`: 1024 small, 1280 large).
    public var lastChannels: Int
    public var bnEps: Float = 1e-3
    public var bnMomentum: Float = 0.01
    public var dropout: Float = 0.2
    public var numClasses: Int = 1000

    public init(blocks: [Block], lastChannels: Int, dropout: Float = 0.2, numClasses: Int = 1000) {
        self.blocks = blocks
        self.lastChannels = lastChannels
        self.dropout = dropout
        self.numClasses = numClasses
    }

    /// The stem's output width (`inverted_residual_setting[0].input_channels`).
    public var stemChannels: Int { blocks.first?.inChannels ?? 16 }
    /// The last 1×1 convolution's width (`lastconv_output_channels`), what the pooled features have.
    public var lastConvChannels: Int { 6 * (blocks.last?.outChannels ?? 16) }

    /// (input, kernel, expanded, out, SE, activation HS, stride) of `_mobilenet_v3_conf`.
    typealias Row = (Int, Int, Int, Int, Bool, Bool, Int)
    static let largeRows: [Row] = [
        (16, 3, 16, 16, false, false, 1), (16, 3, 64, 24, false, false, 2), (24, 3, 72, 24, false, false, 1),
        (24, 5, 72, 40, true, false, 2), (40, 5, 120, 40, true, false, 1), (40, 5, 120, 40, true, false, 1),
        (40, 3, 240, 80, false, true, 2), (80, 3, 200, 80, false, true, 1), (80, 3, 184, 80, false, true, 1),
        (80, 3, 184, 80, false, true, 1), (80, 3, 480, 112, true, true, 1), (112, 3, 672, 112, true, true, 1),
        (112, 5, 672, 160, true, true, 2), (160, 5, 960, 160, true, true, 1), (160, 5, 960, 160, true, true, 1),
    ]
    static let smallRows: [Row] = [
        (16, 3, 16, 16, true, false, 2), (16, 3, 72, 24, false, false, 2), (24, 3, 88, 24, false, false, 1),
        (24, 5, 96, 40, true, true, 2), (40, 5, 240, 40, true, true, 1), (40, 5, 240, 40, true, true, 1),
        (40, 5, 120, 48, true, true, 1), (48, 5, 144, 48, true, true, 1), (48, 5, 288, 96, true, true, 2),
        (96, 5, 576, 96, true, true, 1), (96, 5, 576, 96, true, true, 1),
    ]

    public enum Variant: String, Codable, Sendable { case small, large }

    /// `_mobilenet_v3_conf(arch, width_mult)`: every width `_make_divisible(c · width, 8)`, the hidden
    /// classifier width `_make_divisible(1024 or 1280 · width, 8)` (no reduced tail, no dilation).
    public static func torchvision(_ variant: Variant, widthMult: Double = 1.0, numClasses: Int = 1000) -> MobileNetV3Config {
        let adjust = { (c: Int) in EfficientNetConfig.makeDivisible(Double(c) * widthMult) }
        let rows = variant == .large ? largeRows : smallRows
        let blocks = rows.map { i, k, e, o, se, hs, s in
            Block(inChannels: adjust(i), kernel: k, expandedChannels: adjust(e), outChannels: adjust(o),
                  squeezeExcitation: se, hardswish: hs, stride: s)
        }
        return MobileNetV3Config(blocks: blocks, lastChannels: adjust(variant == .large ? 1280 : 1024), numClasses: numClasses)
    }

    public static let named: [String: MobileNetV3Config] = [
        "mobilenet_v3_large": .torchvision(.large), "mobilenet_v3_small": .torchvision(.small),
    ]
}
