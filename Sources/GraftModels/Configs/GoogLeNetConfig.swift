/// Every number needed to build torchvision's GoogLeNet (Inception v1, torchvision/models/googlenet.py).
///
/// Fixed by the architecture: BasicConv2d = Conv2d (no bias) → BatchNorm2d → ReLU; conv1 7×7 stride 2
/// padding 3, conv2 1×1, conv3 3×3 padding 1; 3×3 stride-2 ceil-mode max pools after conv1, conv3 and
/// stage 3, a 2×2 stride-2 ceil-mode one after stage 4; each Inception block concatenates branch1
/// (1×1), branch2 (1×1 → 3×3), branch3 (1×1 → `branch3Kernel`×`branch3Kernel`) and branch4 (3×3
/// stride-1 ceil-mode max pool → 1×1).
public struct GoogLeNetConfig: Codable, Sendable, Equatable {
    /// One Inception block's widths, torchvision's argument names.
    public struct Block: Codable, Sendable, Equatable {
        public var ch1x1: Int, ch3x3red: Int, ch3x3: Int, ch5x5red: Int, ch5x5: Int, poolProj: Int

        public init(_ ch1x1: Int, _ ch3x3red: Int, _ ch3x3: Int, _ ch5x5red: Int, _ ch5x5: Int, _ poolProj: Int) {
            self.ch1x1 = ch1x1
            self.ch3x3red = ch3x3red
            self.ch3x3 = ch3x3
            self.ch5x5red = ch5x5red
            self.ch5x5 = ch5x5
            self.poolProj = poolProj
        }

        public var outChannels: Int { ch1x1 + ch3x3 + ch5x5 + poolProj }
    }

    public var conv1: Int, conv2: Int, conv3: Int
    /// Blocks inception3a…3b, 4a…4e, 5a…5b (named by position; fewer make a smaller network).
    public var inception3: [Block]
    public var inception4: [Block]
    public var inception5: [Block]
    /// branch3's second kernel: 3 in torchvision (its known deviation from the paper's 5×5, kept so the
    /// pretrained weights load).
    public var branch3Kernel: Int
    /// Whether the tree has aux1/aux2 (torchvision's pretrained checkpoint has them; Graft never runs them
    /// in the forward).
    public var auxLogits: Bool
    /// InceptionAux: adaptive pool to auxPool×auxPool, 1×1 BasicConv2d to auxConv, fc1 to auxHidden, ReLU,
    /// Dropout(auxDropout), fc2.
    public var auxConv: Int
    public var auxPool: Int
    public var auxHidden: Int
    public var auxDropout: Float
    /// The Dropout before fc.
    public var dropout: Float
    /// torchvision's `transform_input`: re-normalize ImageNet-normalized input to mean 0.5 / std 0.5
    /// inside the model, as the ported weights expect (on for torchvision's pretrained weights).
    public var transformInput: Bool
    public var bnEps: Float
    public var numClasses: Int

    public init(conv1: Int = 64, conv2: Int = 64, conv3: Int = 192, inception3: [Block], inception4: [Block],
                inception5: [Block], branch3Kernel: Int = 3, auxLogits: Bool = true, auxConv: Int = 128, auxPool: Int = 4,
                auxHidden: Int = 1024, auxDropout: Float = 0.7, dropout: Float = 0.2, transformInput: Bool = true,
                bnEps: Float = 0.001, numClasses: Int = 1000) {
        self.conv1 = conv1
        self.conv2 = conv2
        self.conv3 = conv3
        self.inception3 = inception3
        self.inception4 = inception4
        self.inception5 = inception5
        self.branch3Kernel = branch3Kernel
        self.auxLogits = auxLogits
        self.auxConv = auxConv
        self.auxPool = auxPool
        self.auxHidden = auxHidden
        self.auxDropout = auxDropout
        self.dropout = dropout
        self.transformInput = transformInput
        self.bnEps = bnEps
        self.numClasses = numClasses
    }

    /// torchvision's `googlenet`, as its pretrained weights build it (aux heads present,
    /// transform_input on).
    public static let named: [String: GoogLeNetConfig] = [
        "googlenet": GoogLeNetConfig(
            inception3: [Block(64, 96, 128, 16, 32, 32), Block(128, 128, 192, 32, 96, 64)],
            inception4: [Block(192, 96, 208, 16, 48, 64), Block(160, 112, 224, 24, 64, 64), Block(128, 128, 256, 24, 64, 64),
                         Block(112, 144, 288, 32, 64, 64), Block(256, 160, 320, 32, 128, 128)],
            inception5: [Block(256, 160, 320, 32, 128, 128), Block(384, 192, 384, 48, 128, 128)]),
    ]
}
