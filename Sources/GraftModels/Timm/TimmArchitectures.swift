import GraftCore
import GraftStore

/// One timm model name and what it is in Graft: the zoo architecture with the same graph, how timm
/// names its keys, and the BatchNorm eps timm builds it with where that differs from Graft's graph.
public struct TimmArchitecture: Sendable, Equatable {
    public let timm: String
    public let graft: String
    public let layout: TimmKeyLayout
    /// timm's BatchNorm eps for this model when Graft's graph of `graft` uses another (MobileNetV3:
    /// timm 1e-5, torchvision 1e-3).
    public let bnEps: Float?
}

/// The table of timm models Graft runs (data): every family both have.
public enum TimmArchitectures {
    public static let table: [TimmArchitecture] = {
        var rows: [TimmArchitecture] = []
        func add(_ timm: String, _ graft: String, _ layout: TimmKeyLayout, bnEps: Float? = nil) {
            rows.append(TimmArchitecture(timm: timm, graft: graft, layout: layout, bnEps: bnEps))
        }
        // ResNet and its a1/a2/a3/tv/gluon weights: one architecture name, torchvision's keys.
        for n in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
                  "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"] { add(n, n, .same) }
        for n in ["densenet121", "densenet161", "densenet169", "densenet201"] { add(n, n, .same) }
        for i in 0...4 { add("efficientnet_b\(i)", "efficientnet_b\(i)", .efficientNet) }
        // EfficientNet-Lite: B0's blocks without squeeze-excitation, ReLU6, stem and head fixed. Graft's
        // graph pads "same" as TensorFlow does (its weights are TF's), which is timm's tf_ variant;
        // timm's efficientnet_liteN pads symmetrically and has no graph here.
        for i in 0...4 { add("tf_efficientnet_lite\(i)", "efficientnet_lite\(i)", .efficientNet) }
        add("mobilenetv3_large_100", "mobilenet_v3_large", .mobileNetV3, bnEps: 1e-5)
        add("mobilenetv3_small_100", "mobilenet_v3_small", .mobileNetV3, bnEps: 1e-5)
        for n in ["tiny", "small", "base", "large"] { add("convnext_\(n)", "convnext_\(n)", .convnext) }
        for (t, g) in [("004", "400mf"), ("008", "800mf"), ("016", "1_6gf"), ("032", "3_2gf"), ("080", "8gf"),
                       ("160", "16gf"), ("320", "32gf")] {
            add("regnety_\(t)", "regnet_y_\(g)", .regnet)
            add("regnetx_\(t)", "regnet_x_\(g)", .regnet)
        }
        return rows
    }()

    /// The row for a timm model name (`resnet50`; a pretrained tag `resnet50.a1_in1k` is dropped).
    public static func lookup(timm name: String) -> TimmArchitecture? {
        let base = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
        return table.first { $0.timm == base }
    }

    /// The row for a Graft architecture (a builder name, or a family read from shapes, which takes the
    /// family's first timm model: the export's key layout is the family's).
    public static func lookup(graft name: String) -> TimmArchitecture? {
        table.first { $0.graft == name }
    }
}

/// A timm folder's weights cannot be used.
public enum TimmError: Error, CustomStringConvertible, Equatable {
    case unknownArchitecture(String)
    case noTimmCounterpart(String)
    case badPreprocessing(String)
    case notExpressible(String)

    public var description: String {
        switch self {
        case .unknownArchitecture(let a):
            let known = TimmArchitectures.table.map(\.timm).joined(separator: ", ")
            return "timm architecture \(SafeText.quoted(a)) has no graph in Graft; known: \(known)"
        case .noTimmCounterpart(let a):
            return "architecture \(SafeText.quoted(a)) has no timm counterpart Graft can write (known: "
                + TimmArchitectures.table.map(\.graft).joined(separator: ", ") + ")"
        case .badPreprocessing(let why): return "pretrained_cfg: \(why)"
        case .notExpressible(let why): return why
        }
    }
}

extension StoreMetadata {
    /// The timm model the weights came from or go to (`graft.timm_architecture`).
    public var timmArchitecture: String? {
        get { foreign["graft.timm_architecture"] }
        set { foreign["graft.timm_architecture"] = newValue }
    }

    /// The BatchNorm eps the weights were trained with when it is not the zoo graph's (`graft.bn_eps`).
    public var bnEps: Float? {
        get { foreign["graft.bn_eps"].flatMap { Float($0) }.flatMap { $0.isFinite && $0 > 0 && $0 < 1 ? $0 : nil } }
        set { foreign["graft.bn_eps"] = newValue.map { "\($0)" } }
    }
}

extension ArchSpec {
    /// This spec with BatchNorm eps `eps` where the family has a setting for it.
    func withBatchNormEps(_ eps: Float) -> ArchSpec {
        switch self {
        case .efficientnet(var c): c.bnEps = eps; return .efficientnet(c)
        case .mobilenetV3(var c): c.bnEps = eps; return .mobilenetV3(c)
        case .resnet(var c): c.bnEps = eps; return .resnet(c)
        case .regnet(var c): c.bnEps = eps; return .regnet(c)
        default: return self
        }
    }

    /// The BatchNorm eps of the families that have a setting for it.
    var batchNormEps: Float? {
        switch self {
        case .efficientnet(let c): return c.bnEps
        case .mobilenetV3(let c): return c.bnEps
        case .resnet(let c): return c.bnEps
        case .regnet(let c): return c.bnEps
        default: return nil
        }
    }
}
