/// Every number needed to build torchvision's MNASNet-B1 (torchvision/models/mnasnet.py): the stem
/// (a 3×3 conv, then a depthwise-separable conv), stacks of `_InvertedResidual` blocks (six in
/// torchvision's), a 1×1 conv to 1280. ReLU throughout, BatchNorm eps 1e-5 and momentum 1 − 0.9997 (TF's 0.9997).
public struct MNASNetConfig: Codable, Sendable, Equatable {
    /// One `_stack`: the first block maps `inChannels → outChannels` at `stride` (residual only when that
    /// keeps the shape: never in torchvision's six), the `repeats − 1` others keep `outChannels` at
    /// stride 1 (residual).
    public struct Stack: Codable, Sendable, Equatable {
        public var inChannels: Int
        public var outChannels: Int
        public var kernel: Int
        public var stride: Int
        public var expansion: Int
        public var repeats: Int

        public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, expansion: Int, repeats: Int) {
            self.inChannels = inChannels
            self.outChannels = outChannels
            self.kernel = kernel
            self.stride = stride
            self.expansion = expansion
            self.repeats = repeats
        }
    }

    /// The first conv's width (`depths[0]`) and the separable conv's output (`depths[1]`).
    public var stemChannels: Int
    public var separableChannels: Int
    public var stacks: [Stack]
    public var headChannels: Int = 1280
    public var dropout: Float = 0.2
    public var numClasses: Int = 1000

    public init(stemChannels: Int, separableChannels: Int, stacks: [Stack], headChannels: Int = 1280,
                dropout: Float = 0.2, numClasses: Int = 1000) {
        self.stemChannels = stemChannels
        self.separableChannels = separableChannels
        self.stacks = stacks
        self.headChannels = headChannels
        self.dropout = dropout
        self.numClasses = numClasses
    }

    /// PyTorch's momentum for TF's 0.9997 (`_BN_MOMENTUM`).
    public static let bnMomentum = Float(1 - 0.9997)

    /// torchvision's `_round_to_multiple_of(val, 8)`: to the nearest multiple of 8, then up by 8 when
    /// that lost more than 10 % (83 → 80, 84 → 88).
    public static func roundToMultiple(_ v: Double, _ divisor: Int = 8) -> Int {
        let r = max(divisor, Int(v + Double(divisor) / 2) / divisor * divisor)
        return Double(r) >= 0.9 * v ? r : r + divisor
    }

    /// (kernel, stride, expansion, repeats) of the six stacks.
    static let stackRows: [(Int, Int, Int, Int)] = [(3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1)]

    /// `MNASNet(alpha)` (version 2: the stem scales with alpha too).
    public static func torchvision(alpha: Double, numClasses: Int = 1000) -> MNASNetConfig {
        let depths = [32, 16, 24, 40, 80, 96, 192, 320].map { roundToMultiple(Double($0) * alpha) }
        let stacks = stackRows.enumerated().map { i, row in
            Stack(inChannels: depths[i + 1], outChannels: depths[i + 2], kernel: row.0, stride: row.1, expansion: row.2,
                  repeats: row.3)
        }
        return MNASNetConfig(stemChannels: depths[0], separableChannels: depths[1], stacks: stacks, numClasses: numClasses)
    }

    /// The same network as torchvision loads a version-1 checkpoint (saved before the stem scaled with
    /// alpha): the stem fixed at 32 → 16, the first stack reading 16 channels. Identical at alpha 1.
    public var withVersion1Stem: MNASNetConfig {
        var c = self
        c.stemChannels = 32
        c.separableChannels = 16
        if !c.stacks.isEmpty { c.stacks[0].inChannels = 16 }
        return c
    }

    /// The architecture a checkpoint of this config loads into, as torchvision's `_load_from_state_dict`
    /// decides it: a version-1 checkpoint (32-wide stem, saved before the stem scaled with alpha) gets the
    /// version-1 stem. torchvision reads the version from the state dict's metadata; the first
    /// convolution's rows say the same (32 at version 1; at version 2 only for alphas whose stem is 32,
    /// where both versions are one network).
    public func adapted(toCheckpointShapes shapes: [String: [Int]]) -> MNASNetConfig {
        guard stemChannels != 32, shapes["layers.0.weight"]?.first == 32 else { return self }
        return withVersion1Stem
    }

    public static let named: [String: MNASNetConfig] = [
        "mnasnet0_5": .torchvision(alpha: 0.5), "mnasnet0_75": .torchvision(alpha: 0.75),
        "mnasnet1_0": .torchvision(alpha: 1.0), "mnasnet1_3": .torchvision(alpha: 1.3),
    ]
}
