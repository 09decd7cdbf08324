/// Every number needed to build a torchvision ShuffleNet V2 (torchvision/models/shufflenetv2.py):
/// the repeats of stages 2–4 and the output channels of conv1, the three stages and conv5.
public struct ShuffleNetV2Config: Codable, Sendable, Equatable {
    /// Blocks in stage2, stage3, stage4 (the first of each has stride 2).
    public var stagesRepeats: [Int]
    /// Output channels of conv1, stage2, stage3, stage4 and conv5.
    public var stagesOutChannels: [Int]
    public var numClasses: Int = 1000

    public init(stagesRepeats: [Int], stagesOutChannels: [Int], numClasses: Int = 1000) {
        self.stagesRepeats = stagesRepeats
        self.stagesOutChannels = stagesOutChannels
        self.numClasses = numClasses
    }

    /// torchvision's named builders.
    public static let named: [String: ShuffleNetV2Config] = [
        "shufflenet_v2_x0_5": ShuffleNetV2Config(stagesRepeats: [4, 8, 4], stagesOutChannels: [24, 48, 96, 192, 1024]),
        "shufflenet_v2_x1_0": ShuffleNetV2Config(stagesRepeats: [4, 8, 4], stagesOutChannels: [24, 116, 232, 464, 1024]),
        "shufflenet_v2_x1_5": ShuffleNetV2Config(stagesRepeats: [4, 8, 4], stagesOutChannels: [24, 176, 352, 704, 1024]),
        "shufflenet_v2_x2_0": ShuffleNetV2Config(stagesRepeats: [4, 8, 4], stagesOutChannels: [24, 244, 488, 976, 2048]),
    ]
}
