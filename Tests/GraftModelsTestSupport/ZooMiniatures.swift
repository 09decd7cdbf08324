import Foundation
import GraftModels
import GraftNN
import GraftStore
import GraftTensor
import GraftTestSupport

/// The miniature checkpoints of every zoo family (made by the tools/make_*fixtures*.py scripts) and
/// the input size each runs at (ONNX export, XNNPACK lowering). The DenseNet-family size is not square on purpose.
public enum ZooMiniatures {
    public struct Entry {
        public let checkpoint: String
        /// The family (sizes read from the checkpoint), or "manifest": the miniature's config from
        /// its folder's manifest.json (AlexNet, SqueezeNet, GoogLeNet and Inception v3 have fixed
        /// sizes, and the MobileNet / MNASNet miniatures have fewer blocks than a family infers from).
        public let arch: String
        public let height: Int
        public let width: Int
        public var name: String { checkpoint }

        public init(checkpoint: String, arch: String, height: Int, width: Int) {
            (self.checkpoint, self.arch, self.height, self.width) = (checkpoint, arch, height, width)
        }
    }

    public static let all: [Entry] = [
        // ResNet, ResNeXt, Wide ResNet (torchvision and timm key names)
        Entry(checkpoint: "torch/resnet18_mini.pth", arch: "resnet", height: 64, width: 64),
        Entry(checkpoint: "torch/resnet50_mini.pth", arch: "resnet", height: 64, width: 64),
        Entry(checkpoint: "models/resnext_mini.pth", arch: "resnet", height: 64, width: 64),
        Entry(checkpoint: "models/wide_resnet_mini.pth", arch: "resnet", height: 64, width: 64),
        Entry(checkpoint: "models/timm_resnet_mini.pth", arch: "resnet", height: 64, width: 64),
        // VGG: its adaptive pool to 7×7 from 1×1
        Entry(checkpoint: "torch/vgg11_mini.pth", arch: "vgg", height: 32, width: 32),
        Entry(checkpoint: "torch/vgg11_bn_mini.pth", arch: "vgg", height: 48, width: 48),
        // EfficientNet v1 / v2, timm's, TF "same" padding (Lite)
        Entry(checkpoint: "torch/efficientnet_b0_mini.pth", arch: "efficientnet", height: 64, width: 64),
        Entry(checkpoint: "models/efficientnet_b5_like_mini.pth", arch: "efficientnet", height: 64, width: 64),
        Entry(checkpoint: "torch/efficientnet_v2_s_mini.pth", arch: "efficientnet_v2", height: 64, width: 64),
        Entry(checkpoint: "models/timm_efficientnet_b0_mini.pth", arch: "efficientnet", height: 64, width: 64),
        Entry(checkpoint: "models/timm_tf_efficientnet_lite0_mini.pth", arch: "efficientnet_lite", height: 64, width: 64),
        // AlexNet (adaptive pool 2×2 → 6×6), SqueezeNet and GoogLeNet (ceil-mode pools), Inception v3
        Entry(checkpoint: "zoo/classic/alexnet_mini.pth", arch: "manifest", height: 107, width: 107),
        Entry(checkpoint: "zoo/classic/squeezenet1_0_mini.pth", arch: "manifest", height: 107, width: 107),
        Entry(checkpoint: "zoo/classic/squeezenet1_1_mini.pth", arch: "manifest", height: 107, width: 107),
        Entry(checkpoint: "zoo/classic/googlenet_mini.pth", arch: "manifest", height: 107, width: 107),
        Entry(checkpoint: "zoo/classic/inception_v3_mini.pth", arch: "manifest", height: 107, width: 107),
        // ConvNeXt, MobileNet V2 / V3, MNASNet
        Entry(checkpoint: "zoo/convnext/mini.pth", arch: "convnext", height: 64, width: 64),
        Entry(checkpoint: "zoo/mobile/mobilenet_v2_mini.pth", arch: "manifest", height: 64, width: 64),
        Entry(checkpoint: "zoo/mobile/mobilenet_v3_mini.pth", arch: "manifest", height: 64, width: 64),
        Entry(checkpoint: "zoo/mobile/mnasnet_mini.pth", arch: "manifest", height: 64, width: 64),
        // DenseNet, RegNet X / Y, ShuffleNet V2 at 33×25
        Entry(checkpoint: "zoo/dense/densenet_mini.pth", arch: "densenet", height: 33, width: 25),
        Entry(checkpoint: "zoo/dense/regnet_x_mini.pth", arch: "regnet", height: 33, width: 25),
        Entry(checkpoint: "zoo/dense/regnet_y_mini.pth", arch: "regnet", height: 33, width: 25),
        Entry(checkpoint: "zoo/dense/shufflenet_v2_mini.pth", arch: "shufflenet_v2", height: 33, width: 25),
        // Keras applications (Keras ResNet's padded pool and biased convolutions, VGG's flatten, EfficientNet's
        // in-graph Normalization layer), whose outputs are Keras' softmax probabilities
        Entry(checkpoint: "keras/resnet_mini.weights.h5", arch: "keras", height: 32, width: 32),
        Entry(checkpoint: "keras/vgg_mini.h5", arch: "keras", height: 64, width: 64),
        Entry(checkpoint: "keras/efficientnet_mini.weights.h5", arch: "keras", height: 32, width: 32),
    ]

    /// The Keras miniatures' sizes, as tools/make_keras_fixtures.py built them.
    public static let kerasSpecs = KerasMiniatures.specs

    /// The checkpoint's model, loaded strictly.
    public static func model(_ entry: Entry) throws -> Model {
        if entry.arch == "keras" {
            let name = String(entry.checkpoint.split(separator: "/").last!.split(separator: ".").first!)
            var options = LoadOptions()
            options.spec = kerasSpecs[name]
            return try ModelLoader.load(arch: name, store: try WeightStore.open(TestPaths.fixture(entry.checkpoint)), options: options).model
        }
        guard entry.arch == "manifest" else {
            return try ModelLoader.load(arch: entry.arch, store: try WeightStore.open(TestPaths.fixture(entry.checkpoint))).model
        }
        let folder = entry.checkpoint.split(separator: "/").dropLast().joined(separator: "/")
        let name = String(entry.checkpoint.split(separator: "/").last!.dropLast(".pth".count))
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("\(folder)/manifest.json"))))
        guard let models = (manifest as? [String: Any])?["models"] as? [String: Any], let item = models[name] as? [String: Any],
              let family = (item["family"] ?? item["architecture"]) as? String, let config = item["config"] else {
            throw NNError.badArgument("\(folder)/manifest.json has no \(name)")
        }
        let json = try JSONSerialization.data(withJSONObject: config)
        let decoder = JSONDecoder()
        let network: FeatureHeadNetwork
        switch family {
        case "alexnet": network = AlexNet(try decoder.decode(AlexNetConfig.self, from: json))
        case "squeezenet": network = SqueezeNet(try decoder.decode(SqueezeNetConfig.self, from: json))
        case "googlenet": network = GoogLeNet(try decoder.decode(GoogLeNetConfig.self, from: json))
        case "inception_v3": network = InceptionV3(try decoder.decode(InceptionV3Config.self, from: json))
        case "MobileNetV2": network = MobileNetV2(try decoder.decode(MobileNetV2Config.self, from: json))
        case "MobileNetV3": network = MobileNetV3(try decoder.decode(MobileNetV3Config.self, from: json))
        case "MNASNet": network = MNASNet(try decoder.decode(MNASNetConfig.self, from: json))
        default: throw NNError.badArgument("unknown miniature family \(family)")
        }
        try network.loadCheckpoint(TestPaths.fixture(entry.checkpoint))
        return try Model(network: network, arch: name)
    }


    /// A deterministic input of roughly unit scale.
    public static func input(batch: Int, _ entry: Entry) throws -> Tensor {
        let count = batch * 3 * entry.height * entry.width
        return try Tensor(shape: [batch, 3, entry.height, entry.width],
                          values: (0..<count).map { Float(sin(Double($0) * 0.37) * 1.5 + cos(Double($0) * 0.011)) })
    }
}
