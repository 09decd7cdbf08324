/// Every number needed to build a torchvision DenseNet-BC (torchvision/models/densenet.py).
///
/// The stem has `numInitFeatures` channels; dense block i has `blockConfig[i]` layers, each adding
/// `growthRate` channels through a bottleneck of `bnSize · growthRate`; every transition but the
/// last block's halves the channels (integer division) and the resolution.
public struct DenseNetConfig: Codable, Sendable, Equatable {
    public var growthRate: Int
    public var blockConfig: [Int]
    public var numInitFeatures: Int
    public var bnSize: Int = 4
    /// Dropout after each dense layer (torchvision's `drop_rate`; 0 in every named model).
    public var dropRate: Float = 0
    public var numClasses: Int = 1000

    public init(growthRate: Int, blockConfig: [Int], numInitFeatures: Int, bnSize: Int = 4, dropRate: Float = 0,
                numClasses: Int = 1000) {
        self.growthRate = growthRate
        self.blockConfig = blockConfig
        self.numInitFeatures = numInitFeatures
        self.bnSize = bnSize
        self.dropRate = dropRate
        self.numClasses = numClasses
    }

    /// Channels entering each dense block, and the width of the final features (norm5, classifier).
    public var blockInputChannels: (blocks: [Int], final: Int) {
        var features = numInitFeatures
        var inputs: [Int] = []
        for (i, layers) in blockConfig.enumerated() {
            inputs.append(features)
            features += layers * growthRate
            if i != blockConfig.count - 1 { features /= 2 }
        }
        return (inputs, features)
    }

    /// torchvision's named builders: (growth rate, block config, initial features).
    public static let named: [String: DenseNetConfig] = [
        "densenet121": DenseNetConfig(growthRate: 32, blockConfig: [6, 12, 24, 16], numInitFeatures: 64),
        "densenet161": DenseNetConfig(growthRate: 48, blockConfig: [6, 12, 36, 24], numInitFeatures: 96),
        "densenet169": DenseNetConfig(growthRate: 32, blockConfig: [6, 12, 32, 32], numInitFeatures: 64),
        "densenet201": DenseNetConfig(growthRate: 32, blockConfig: [6, 12, 48, 32], numInitFeatures: 64),
    ]
}
