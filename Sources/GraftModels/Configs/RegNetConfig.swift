import Foundation

/// Every number needed to build a torchvision RegNet (torchvision/models/regnet.py): per stage its
/// depth, output width, group width, bottleneck multiplier and stride, the squeeze-excitation ratio
/// (RegNetY; nil for RegNetX), the stem width and BatchNorm's eps and momentum.
///
/// torchvision generates the stages from six numbers (`BlockParams.from_init_params`);
/// `fromInitParams` does the same, quantization and rounding included.
public struct RegNetConfig: Codable, Sendable, Equatable {
    public var depths: [Int]
    public var widths: [Int]
    public var groupWidths: [Int]
    public var bottleneckMultipliers: [Double]
    public var strides: [Int]
    /// Squeeze width = round(seRatio · block input width), ties to even; nil: no squeeze-excitation.
    public var seRatio: Double?
    public var stemWidth: Int = 32
    public var bnEps: Float = 1e-5
    public var bnMomentum: Float = 0.1
    public var numClasses: Int = 1000

    public init(depths: [Int], widths: [Int], groupWidths: [Int], bottleneckMultipliers: [Double], strides: [Int],
                seRatio: Double? = nil, stemWidth: Int = 32, numClasses: Int = 1000) {
        self.depths = depths
        self.widths = widths
        self.groupWidths = groupWidths
        self.bottleneckMultipliers = bottleneckMultipliers
        self.strides = strides
        self.seRatio = seRatio
        self.stemWidth = stemWidth
        self.numClasses = numClasses
    }

    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case invalidSettings(String)
        public var description: String {
            switch self { case .invalidSettings(let s): return "invalid RegNet settings: \(s)" }
        }
    }

    /// torchvision's `BlockParams.from_init_params`: block widths `w_0 + i·w_a` (i < depth) snapped to
    /// `w_0 · w_m^round(log(w/w_0) / log(w_m))` and quantized to multiples of 8; each run of equal
    /// widths is a stage (stride 2); then each stage's width is adjusted so its bottleneck divides
    /// into groups of `min(groupWidth, bottleneck width)`.
    ///
    /// torch computes the widths in float32 (`torch.arange(depth) * w_a + w_0` and what follows), and so
    /// does this; `torch.round` rounds halves to even (regnet_x_1_6gf meets an exact tie, 22.5 → 22).
    public static func fromInitParams(depth: Int, w0: Int, wa: Double, wm: Double, groupWidth: Int,
                                      bottleneckMultiplier: Double = 1.0, seRatio: Double? = nil) throws -> RegNetConfig {
        guard wa >= 0, w0 > 0, wm > 1, w0 % 8 == 0, depth > 0, groupWidth > 0 else {
            throw Error.invalidSettings("depth \(depth), w_0 \(w0), w_a \(wa), w_m \(wm), group width \(groupWidth)")
        }
        let quant: Float = 8
        let w0f = Float(w0), waf = Float(wa), wmf = Float(wm)
        // math.log(w_m) is a Python float; torch divides the float32 tensor by it in float32.
        let logWm = Float(Foundation.log(wm))
        var blockWidths: [Int] = []
        for i in 0..<depth {
            let cont = Float(i) * waf + w0f
            let capacity = (Foundation.logf(cont / w0f) / logWm).rounded(.toNearestOrEven)
            let w = (w0f * Foundation.powf(wmf, capacity) / quant).rounded(.toNearestOrEven) * quant
            blockWidths.append(Int(w))
        }
        // A new stage starts wherever the width changes.
        var stageWidths: [Int] = [], stageDepths: [Int] = []
        for (i, w) in blockWidths.enumerated() {
            if i == 0 || w != blockWidths[i - 1] {
                stageWidths.append(w)
                stageDepths.append(1)
            } else {
                stageDepths[stageDepths.count - 1] += 1
            }
        }
        let stages = stageWidths.count
        let multipliers = [Double](repeating: bottleneckMultiplier, count: stages)
        // _adjust_widths_groups_compatibilty (in Python floats).
        var widths: [Int] = [], groups: [Int] = []
        for (w, b) in zip(stageWidths, multipliers) {
            let bottleneck = Int(Double(w) * b)
            let g = min(groupWidth, bottleneck)
            let adjusted = makeDivisible(Double(bottleneck), g)
            widths.append(Int(Double(adjusted) / b))
            groups.append(g)
        }
        return RegNetConfig(depths: stageDepths, widths: widths, groupWidths: groups, bottleneckMultipliers: multipliers,
                            strides: [Int](repeating: 2, count: stages), seRatio: seRatio)
    }

    /// torchvision's `_make_divisible(v, divisor)`: nearest multiple (at least `divisor`), never more
    /// than 10% below `v`.
    public static func makeDivisible(_ v: Double, _ divisor: Int) -> Int {
        var r = max(divisor, Int(v + Double(divisor) / 2) / divisor * divisor)
        if Double(r) < 0.9 * v { r += divisor }
        return r
    }

    /// A block's bottleneck width `int(round(width_out · multiplier))` (Python's round: ties to even).
    public static func bottleneckWidth(_ widthOut: Int, _ multiplier: Double) -> Int {
        Int((Double(widthOut) * multiplier).rounded(.toNearestOrEven))
    }

    /// A block's squeeze width `int(round(se_ratio · width_in))`.
    public static func squeezeWidth(_ widthIn: Int, _ ratio: Double) -> Int {
        Int((ratio * Double(widthIn)).rounded(.toNearestOrEven))
    }

    /// torchvision's builders: (depth, w_0, w_a, w_m, group width), RegNetY with squeeze ratio 0.25.
    static let initParams: [String: (Int, Int, Double, Double, Int, Double?)] = [
        "regnet_y_400mf": (16, 48, 27.89, 2.09, 8, 0.25),
        "regnet_y_800mf": (14, 56, 38.84, 2.4, 16, 0.25),
        "regnet_y_1_6gf": (27, 48, 20.71, 2.65, 24, 0.25),
        "regnet_y_3_2gf": (21, 80, 42.63, 2.66, 24, 0.25),
        "regnet_y_8gf": (17, 192, 76.82, 2.19, 56, 0.25),
        "regnet_y_16gf": (18, 200, 106.23, 2.48, 112, 0.25),
        "regnet_y_32gf": (20, 232, 115.89, 2.53, 232, 0.25),
        "regnet_y_128gf": (27, 456, 160.83, 2.52, 264, 0.25),
        "regnet_x_400mf": (22, 24, 24.48, 2.54, 16, nil),
        "regnet_x_800mf": (16, 56, 35.73, 2.28, 16, nil),
        "regnet_x_1_6gf": (18, 80, 34.01, 2.25, 24, nil),
        "regnet_x_3_2gf": (25, 88, 26.31, 2.25, 48, nil),
        "regnet_x_8gf": (23, 80, 49.56, 2.88, 120, nil),
        "regnet_x_16gf": (22, 216, 55.59, 2.1, 128, nil),
        "regnet_x_32gf": (23, 320, 69.86, 2.0, 168, nil),
    ]

    public static let named: [String: RegNetConfig] = initParams.mapValues { d, w0, wa, wm, g, se in
        // The table above holds valid settings.
        try! fromInitParams(depth: d, w0: w0, wa: wa, wm: wm, groupWidth: g, seRatio: se)
    }
}
