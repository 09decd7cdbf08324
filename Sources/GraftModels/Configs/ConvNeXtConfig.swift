/// Every number needed to build a torchvision ConvNeXt: each stage's width and depth, the stochastic
/// depth rate (rising linearly over the blocks), the layer-scale initial value and the classes.
public struct ConvNeXtConfig: Codable, Sendable, Equatable {
    public struct Stage: Codable, Sendable, Equatable {
        public var channels: Int
        public var depth: Int
        public init(channels: Int, depth: Int) { self.channels = channels; self.depth = depth }
    }

    public var stages: [Stage]
    public var stochasticDepthProbability: Float
    public var layerScale: Float = 1e-6
    public var numClasses: Int = 1000

    public init(stages: [Stage], stochasticDepthProbability: Float, numClasses: Int = 1000) {
        self.stages = stages
        self.stochasticDepthProbability = stochasticDepthProbability
        self.numClasses = numClasses
    }

    /// torchvision's convnext_tiny/small/base/large.
    public static let named: [String: ConvNeXtConfig] = {
        func make(_ widths: [Int], _ depths: [Int], _ sd: Float) -> ConvNeXtConfig {
            ConvNeXtConfig(stages: zip(widths, depths).map { Stage(channels: $0, depth: $1) }, stochasticDepthProbability: sd)
        }
        return [
            "convnext_tiny": make([96, 192, 384, 768], [3, 3, 9, 3], 0.1),
            "convnext_small": make([96, 192, 384, 768], [3, 3, 27, 3], 0.4),
            "convnext_base": make([128, 256, 512, 1024], [3, 3, 27, 3], 0.5),
            "convnext_large": make([192, 384, 768, 1536], [3, 3, 27, 3], 0.5),
        ]
    }()
}
