/// Every number needed to build torchvision's SqueezeNet 1.0 or 1.1 (torchvision/models/squeezenet.py):
/// the `features` sequence — stem convolution, 3×3 stride-2 ceil-mode max pools and Fire modules — and
/// the classifier (Dropout, a 1×1 convolution to the classes, ReLU, global average pool).
public struct SqueezeNetConfig: Codable, Sendable, Equatable {
    /// One entry of `features`. A convolution adds two children (Conv2d with bias, ReLU); a pool is
    /// MaxPool2d(3, stride 2, ceil_mode=True); a Fire module is one child.
    public enum Item: Codable, Sendable, Equatable {
        /// A convolution without padding, `out` channels, `kernel`×`kernel`, stride `stride`.
        case conv(out: Int, kernel: Int, stride: Int)
        case pool
        /// Fire(squeeze, expand1x1, expand3x3): 1×1 squeeze, then 1×1 and 3×3 (padding 1) expands
        /// concatenated, each followed by ReLU.
        case fire(squeeze: Int, expand1x1: Int, expand3x3: Int)
    }

    public var items: [Item]
    /// The classifier's Dropout probability.
    public var dropout: Float
    public var numClasses: Int

    public init(items: [Item], dropout: Float = 0.5, numClasses: Int = 1000) {
        self.items = items
        self.dropout = dropout
        self.numClasses = numClasses
    }

    /// The channels `features` ends with (the final convolution's input).
    public var featureChannels: Int {
        var c = 3
        for item in items {
            switch item {
            case .conv(let out, _, _): c = out
            case .pool: break
            case .fire(_, let e1, let e3): c = e1 + e3
            }
        }
        return c
    }

    /// torchvision's `squeezenet1_0` and `squeezenet1_1`.
    public static let named: [String: SqueezeNetConfig] = {
        func f(_ s: Int, _ e: Int) -> Item { .fire(squeeze: s, expand1x1: e, expand3x3: e) }
        return [
            "squeezenet1_0": SqueezeNetConfig(items: [
                .conv(out: 96, kernel: 7, stride: 2), .pool, f(16, 64), f(16, 64), f(32, 128), .pool,
                f(32, 128), f(48, 192), f(48, 192), f(64, 256), .pool, f(64, 256)]),
            "squeezenet1_1": SqueezeNetConfig(items: [
                .conv(out: 64, kernel: 3, stride: 2), .pool, f(16, 64), f(16, 64), .pool, f(32, 128), f(32, 128), .pool,
                f(48, 192), f(48, 192), f(64, 256), f(64, 256)]),
        ]
    }()
}
