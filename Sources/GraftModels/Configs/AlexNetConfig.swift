/// Every number needed to build torchvision's AlexNet (torchvision/models/alexnet.py, the "one weird
/// trick" variant: 64-192-384-256-256 channels, no local response normalization).
///
/// The kernels are fixed by the architecture: 11×11 stride 4 padding 2, 5×5 padding 2, three 3×3
/// padding 1, each followed by ReLU, with 3×3 stride-2 max pools after the first, second and fifth.
public struct AlexNetConfig: Codable, Sendable, Equatable {
    /// The five convolutions' output channels.
    public var widths: [Int]
    /// The two hidden Linear layers' width.
    public var hidden: Int
    /// The adaptive average pool's output side (the classifier sees widths[4] · poolSize² features).
    public var poolSize: Int
    /// The probability of both classifier Dropout layers.
    public var dropout: Float
    public var numClasses: Int

    public init(widths: [Int] = [64, 192, 384, 256, 256], hidden: Int = 4096, poolSize: Int = 6, dropout: Float = 0.5,
                numClasses: Int = 1000) {
        precondition(widths.count == 5, "AlexNet has five convolutions")
        self.widths = widths
        self.hidden = hidden
        self.poolSize = poolSize
        self.dropout = dropout
        self.numClasses = numClasses
    }

    /// torchvision's builder (`alexnet`).
    public static let named: [String: AlexNetConfig] = ["alexnet": AlexNetConfig()]
}
