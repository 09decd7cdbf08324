import Foundation

/// Every number needed to build an EfficientNet (V1, V2, Lite) as torchvision, timm or
/// efficientnet_pytorch build it: the stages after width/depth scaling, stem and head widths, the
/// activation, BatchNorm eps and the padding convention.
public struct EfficientNetConfig: Codable, Sendable, Equatable {
    public struct Stage: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable { case mbconv, fused }
        public var kind: Kind
        public var expandRatio: Int
        public var kernel: Int
        public var stride: Int
        public var inChannels: Int
        public var outChannels: Int
        public var layers: Int
        /// Squeeze width = max(1, block input channels × ratio); nil means no squeeze-excitation.
        public var seRatio: Double?

        public init(kind: Kind, expandRatio: Int, kernel: Int, stride: Int, inChannels: Int, outChannels: Int,
                    layers: Int, seRatio: Double?) {
            self.kind = kind
            self.expandRatio = expandRatio
            self.kernel = kernel
            self.stride = stride
            self.inChannels = inChannels
            self.outChannels = outChannels
            self.layers = layers
            self.seRatio = seRatio
        }
    }

    public enum Activation: String, Codable, Sendable { case silu, relu6 }
    /// torchvision pads symmetrically ((k−1)/2); TF ports (timm `tf_*`, efficientnet_pytorch, Keras)
    /// pad "same" asymmetrically: the extra row/column goes at the bottom/right.
    public enum Padding: String, Codable, Sendable { case symmetric, tfSame = "tf_same" }

    public var stages: [Stage]
    public var stemChannels: Int
    public var headChannels: Int
    public var activation: Activation = .silu
    public var bnEps: Float = 1e-5
    /// torch convention: running = (1 − m)·running + m·batch (B5–B7: 0.01, TF's 0.99).
    public var bnMomentum: Float = 0.1
    public var padding: Padding = .symmetric
    public var dropout: Float = 0.2
    public var numClasses: Int = 1000
    /// How the squeeze width is rounded: torchvision and efficientnet_pytorch floor `input × ratio`;
    /// timm rounds `expanded × ratio / expand_ratio` to nearest (ties to even, Python's round).
    public var seRounding: SERounding = .floorOfInput
    /// efficientnet_pytorch never adds a stage's first block to its input (it compares a stride list
    /// with 1); its graphs set this to false.
    public var firstBlockResidual = true
    /// Keras' in-graph preprocessing: Rescaling(1/255) then Normalization (mean, variance, count).
    public var kerasInputNormalization = false

    public enum SERounding: String, Codable, Sendable { case floorOfInput = "floor", roundOfExpanded = "round" }

    /// The squeeze width of a block with `input` channels expanded `ratio` times to `expanded`.
    public func squeezeChannels(input: Int, expanded: Int, expandRatio: Int, seRatio: Double) -> Int {
        switch seRounding {
        case .floorOfInput: return max(1, Int(Double(input) * seRatio))
        case .roundOfExpanded:
            return max(1, Int((Double(expanded) * seRatio / Double(max(expandRatio, 1))).rounded(.toNearestOrEven)))
        }
    }

    public init(stages: [Stage], stemChannels: Int, headChannels: Int, activation: Activation = .silu,
                bnEps: Float = 1e-5, padding: Padding = .symmetric, dropout: Float = 0.2, numClasses: Int = 1000) {
        self.stages = stages
        self.stemChannels = stemChannels
        self.headChannels = headChannels
        self.activation = activation
        self.bnEps = bnEps
        self.padding = padding
        self.dropout = dropout
        self.numClasses = numClasses
    }

    /// torchvision's `_make_divisible(v, 8)`: round to a multiple of 8, never more than 10% down.
    public static func makeDivisible(_ v: Double, _ divisor: Int = 8) -> Int {
        var r = max(divisor, Int(v + Double(divisor) / 2) / divisor * divisor)
        if Double(r) < 0.9 * v { r += divisor }
        return r
    }

    /// (expand, kernel, stride, in, out, layers) of EfficientNet-B0, torchvision's `bneck_conf` table.
    static let v1Base: [(Int, Int, Int, Int, Int, Int)] = [
        (1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
        (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1),
    ]

    /// torchvision's EfficientNet-B0…B7 from (width, depth) multipliers.
    public static func v1(widthMult: Double, depthMult: Double, bnEps: Float = 1e-5, dropout: Float = 0.2,
                          numClasses: Int = 1000) -> EfficientNetConfig {
        let stages = v1Base.map { e, k, s, i, o, n in
            Stage(kind: .mbconv, expandRatio: e, kernel: k, stride: s,
                  inChannels: makeDivisible(Double(i) * widthMult), outChannels: makeDivisible(Double(o) * widthMult),
                  layers: Int((Double(n) * depthMult).rounded(.up)), seRatio: 0.25)
        }
        return EfficientNetConfig(
            stages: stages, stemChannels: stages[0].inChannels, headChannels: 4 * stages[stages.count - 1].outChannels,
            bnEps: bnEps, dropout: dropout, numClasses: numClasses)
    }

    private static func v2(_ rows: [(Stage.Kind, Int, Int, Int, Int, Int, Int)], dropout: Float) -> EfficientNetConfig {
        let stages = rows.map { kind, e, k, s, i, o, n in
            Stage(kind: kind, expandRatio: e, kernel: k, stride: s, inChannels: i, outChannels: o, layers: n,
                  seRatio: kind == .mbconv ? 0.25 : nil)
        }
        return EfficientNetConfig(stages: stages, stemChannels: stages[0].inChannels, headChannels: 1280,
                                  bnEps: 1e-3, dropout: dropout)
    }

    /// EfficientNet-Lite (TensorFlow's efficientnet/lite): no squeeze-excitation, ReLU6, the stem (32) and
    /// head (1280) not scaled, and the first and last stages' repeats not scaled.
    public static func lite(widthMult: Double, depthMult: Double, numClasses: Int = 1000) -> EfficientNetConfig {
        let last = v1Base.count - 1
        let stages = v1Base.enumerated().map { idx, row in
            let (e, k, s, i, o, n) = row
            let layers = idx == 0 || idx == last ? n : Int((Double(n) * depthMult).rounded(.up))
            return Stage(kind: .mbconv, expandRatio: e, kernel: k, stride: s,
                         inChannels: idx == 0 ? 32 : makeDivisible(Double(i) * widthMult),
                         outChannels: makeDivisible(Double(o) * widthMult), layers: layers, seRatio: nil)
        }
        return EfficientNetConfig(stages: stages, stemChannels: 32, headChannels: 1280, activation: .relu6,
                                  bnEps: 1e-3, padding: .tfSame, dropout: 0.2, numClasses: numClasses)
    }

    public static let named: [String: EfficientNetConfig] = {
        var out: [String: EfficientNetConfig] = [:]
        let v1Rows: [(Double, Double, Float)] = [(1.0, 1.0, 0.2), (1.0, 1.1, 0.2), (1.1, 1.2, 0.3), (1.2, 1.4, 0.3),
                                                 (1.4, 1.8, 0.4), (1.6, 2.2, 0.4), (1.8, 2.6, 0.5), (2.0, 3.1, 0.5)]
        for (i, (w, d, p)) in v1Rows.enumerated() {
            // B5–B7 were ported from TF weights and keep TF's BatchNorm eps in torchvision.
            var c = v1(widthMult: w, depthMult: d, bnEps: i >= 5 ? 1e-3 : 1e-5, dropout: p)
            if i >= 5 { c.bnMomentum = 0.01 }
            out["efficientnet_b\(i)"] = c
        }
        out["efficientnet_v2_s"] = v2([
            (.fused, 1, 3, 1, 24, 24, 2), (.fused, 4, 3, 2, 24, 48, 4), (.fused, 4, 3, 2, 48, 64, 4),
            (.mbconv, 4, 3, 2, 64, 128, 6), (.mbconv, 6, 3, 1, 128, 160, 9), (.mbconv, 6, 3, 2, 160, 256, 15),
        ], dropout: 0.2)
        out["efficientnet_v2_m"] = v2([
            (.fused, 1, 3, 1, 24, 24, 3), (.fused, 4, 3, 2, 24, 48, 5), (.fused, 4, 3, 2, 48, 80, 5),
            (.mbconv, 4, 3, 2, 80, 160, 7), (.mbconv, 6, 3, 1, 160, 176, 14), (.mbconv, 6, 3, 2, 176, 304, 18),
            (.mbconv, 6, 3, 1, 304, 512, 5),
        ], dropout: 0.3)
        out["efficientnet_v2_l"] = v2([
            (.fused, 1, 3, 1, 32, 32, 4), (.fused, 4, 3, 2, 32, 64, 7), (.fused, 4, 3, 2, 64, 96, 7),
            (.mbconv, 4, 3, 2, 96, 192, 10), (.mbconv, 6, 3, 1, 192, 224, 19), (.mbconv, 6, 3, 2, 224, 384, 25),
            (.mbconv, 6, 3, 1, 384, 640, 7),
        ], dropout: 0.4)
        for (i, (w, d, p)) in v1Rows.enumerated() {
            var c = v1(widthMult: w, depthMult: d, bnEps: 1e-3, dropout: p)
            c.padding = .tfSame
            c.bnMomentum = 0.01
            c.kerasInputNormalization = true
            out["EfficientNetB\(i)"] = c
        }
        let liteRows: [(Double, Double)] = [(1.0, 1.0), (1.0, 1.1), (1.1, 1.2), (1.2, 1.4), (1.4, 1.8)]
        for (i, (w, d)) in liteRows.enumerated() { out["efficientnet_lite\(i)"] = lite(widthMult: w, depthMult: d) }
        return out
    }()
}
