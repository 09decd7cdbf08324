import Foundation
import GraftModels
import GraftTestSupport

/// `Fixtures/models/manifest.json` (tools/make_model_fixtures.py): each miniature's checkpoint, naming,
/// configuration, input and the logits torch (or timm / efficientnet_pytorch) computed.
struct ModelManifest: Decodable {
    struct Stage: Decodable {
        let block: String
        let expand_ratio: Int
        let kernel: Int
        let stride: Int
        let input_channels: Int
        let out_channels: Int
        let num_layers: Int
        let se_ratio: Double?
    }
    struct Config: Decodable {
        // ResNet
        let block: String?
        let layers: [Int]?
        let widths: [Int]?
        let stem_width: Int?
        let groups: Int?
        let width_per_group: Int?
        // VGG
        let cfg: [VGGConfig.Item]?
        let batch_norm: Bool?
        let classifier_hidden: Int?
        // EfficientNet
        let stages: [Stage]?
        let stem_channels: Int?
        let head_channels: Int?
        let activation: String?
        let padding: String?
        let se_squeeze: String?
        let bn_momentum: Double?
        // all
        let bn_eps: Double?
        let num_classes: Int
    }
    struct Model: Decodable {
        let checkpoint: String
        let naming: String
        let family: String
        let config: Config
        let input: String
        let logits: String
    }
    let tolerance: Double
    let models: [String: Model]

    static func load() throws -> ModelManifest {
        try TestPaths.decodeFixture(ModelManifest.self, "models/manifest.json")
    }
}

extension ModelManifest.Model {
    /// The Graft architecture the manifest describes.
    var spec: ArchSpec {
        let c = config
        let eps = Float(c.bn_eps ?? 1e-5)
        switch family {
        case "resnet":
            var r = ResNetConfig(block: c.block == "bottleneck" ? .bottleneck : .basic, layers: c.layers ?? [],
                                 widths: c.widths ?? [], groups: c.groups ?? 1, widthPerGroup: c.width_per_group ?? 64,
                                 numClasses: c.num_classes)
            // ResNetConfig records a stem width only when it differs from the first stage's.
            r.stemWidth = c.stem_width == r.widths.first ? nil : c.stem_width
            r.bnEps = eps
            return .resnet(r)
        case "vgg":
            return .vgg(VGGConfig(items: c.cfg ?? [], batchNorm: c.batch_norm ?? false, hidden: c.classifier_hidden ?? 4096,
                                  numClasses: c.num_classes))
        default:
            let stages = (c.stages ?? []).map {
                EfficientNetConfig.Stage(kind: $0.block == "FusedMBConv" ? .fused : .mbconv, expandRatio: $0.expand_ratio,
                                         kernel: $0.kernel, stride: $0.stride, inChannels: $0.input_channels,
                                         outChannels: $0.out_channels, layers: $0.num_layers, seRatio: $0.se_ratio)
            }
            var e = EfficientNetConfig(stages: stages, stemChannels: c.stem_channels ?? 32, headChannels: c.head_channels ?? 1280,
                                       activation: c.activation == "relu6" ? .relu6 : .silu, bnEps: eps,
                                       padding: c.padding == "tf_same" ? .tfSame : .symmetric, numClasses: c.num_classes)
            e.bnMomentum = Float(c.bn_momentum ?? 0.1)
            if c.se_squeeze?.hasPrefix("round") == true { e.seRounding = .roundOfExpanded }
            return .efficientnet(e)
        }
    }
}
