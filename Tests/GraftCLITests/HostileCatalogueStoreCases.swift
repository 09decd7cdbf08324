import Foundation
import GraftCore
import GraftSafetensors
import GraftStore
import GraftTestSupport

/// Graft's own stores (safetensors with `graft.*` metadata), timm hub folders, and the model
/// configuration read from a checkpoint's shapes (`--arch resnet|vgg|efficientnet|…`).
enum StoreCases {
    typealias S = SafetensorsBytes
    static let C = CheckpointCommands.self

    /// The timm ResNet-50 miniature's weights recorded as a store of `arch` with `metadata`.
    static func store(_ metadata: [String: String], arch: String = "resnet") throws -> [UInt8] {
        var parts = try Bases.timmWeights("resnet50_mini")
        parts.metadata = ["format": "pt", "graft.arch": arch].merging(metadata) { $1 }
        return parts.bytes
    }

    static func preset(resize: String = "36", crop: String = "32", interpolation: String = "\"bilinear\"",
                       mean: String = "[0.485,0.456,0.406]", std: String = "[0.229,0.224,0.225]", mode: String = "\"center\"") -> String {
        "{\"torchvision\":{\"_0\":{\"resizeSize\":\(resize),\"cropSize\":\(crop),\"interpolation\":\(interpolation),"
            + "\"mean\":\(mean),\"std\":\(std),\"cropMode\":\(mode)}}}"
    }

    /// (name, graft.preprocessing text, reasons): records that must not reach an image.
    static let records: [(String, String, [String])] = [
        ("crop_100000", preset(crop: "100000"), ["crop 100000"]),
        ("resize_100000", preset(resize: "100000"), ["resize 100000"]),
        ("crop_zero", preset(crop: "0"), ["crop 0"]),
        ("resize_negative", preset(resize: "-1"), ["resize -1"]),
        ("mean_1e39", preset(mean: "[1e39,0,0]"), ["neither an image pipeline"]),
        ("std_1e-46", preset(std: "[1e-46,1,1]"), ["neither an image pipeline"]),
        ("std_zero", preset(std: "[0,1,1]"), ["std"]),
        ("mean_two_values", preset(mean: "[0.5,0.5]"), ["three values"]),
        ("interpolation_sinc", preset(interpolation: "\"sinc\""), ["neither an image pipeline"]),
        ("crop_mode_weird", preset(mode: "\"weird\""), ["neither an image pipeline"]),
        ("not_json", "{resize: 256", ["not JSON"]),
        ("json_array", "[256, 224]", ["neither an image pipeline"]),
        ("json_number", "42", ["neither an image pipeline"]),
        ("empty_text", "", ["not JSON"]),
        ("five_kb", "{\"pad\":\"" + String(repeating: "x", count: 5_000) + "\"}", ["more than a preprocessing record holds"]),
        ("nested_20", String(repeating: "[", count: 20) + String(repeating: "]", count: 20), ["more than a preprocessing record holds"]),
        ("keras_size_100000", "{\"keras\":{\"size\":100000,\"mode\":\"caffe\"}}", ["Keras input size 100000"]),
        ("keras_mode_weird", "{\"keras\":{\"size\":32,\"mode\":\"weird\"}}", ["neither an image pipeline"]),
        ("bidi_text", "\u{202E}{\u{1b}[31m", ["not JSON"]),
    ]

    /// A real miniature whose tensor `name` is given `shape` (zeros), written as a plain safetensors
    /// file: `--arch FAMILY` reads its configuration from exactly such shapes.
    static func reshaped(_ fixture: String, _ name: String, _ shape: [Int]) -> HostileInput {
        let tag = shape.map(String.init).joined(separator: "x")
        return .writer("\((fixture as NSString).lastPathComponent)_\(name)_\(tag).safetensors") { path in
            let source = try WeightStore.open(TestPaths.fixture(fixture))
            guard source.entries.contains(where: { $0.name == name }) else { throw Mutate.MutationError.notFound(name) }
            let entries = source.entries.map { e in
                (name: e.name, dtype: e.name == name ? DType.float32 : e.tensor.dtype, shape: e.name == name ? shape : e.tensor.shape)
            }
            try SafetensorsWriter.write(to: path, entries: entries, metadata: []) { i in
                guard source.entries[i].name == name else { return try source.entries[i].tensor.load().data }
                return ByteBuffer([UInt8](repeating: 0, count: shape.reduce(1, *) * 4))
            }
        }
    }

    /// (family, fixture, tensor, shape, reasons): a rank or width no configuration has.
    static let configs: [(String, String, String, [Int], [String])] = [
        ("resnet", "torch/resnet18_mini.pth", "conv1.weight", [8 * 3 * 7 * 7], ["conv1.weight"]),
        ("resnet", "torch/resnet18_mini.pth", "conv1.weight", [0, 3, 7, 7], ["conv1.weight"]),
        ("resnet", "torch/resnet18_mini.pth", "conv1.weight", [1 << 21, 0, 7, 7], ["conv1.weight"]),
        ("resnet", "torch/resnet18_mini.pth", "fc.weight", [10, 8, 1], ["fc.weight"]),
        ("resnet", "torch/resnet18_mini.pth", "fc.weight", [0, 64], ["fc.weight"]),
        ("resnet", "torch/resnet18_mini.pth", "layer1.0.conv1.weight", [0, 8, 3, 3], ["layer1.0.conv1.weight"]),
        ("resnet", "torch/resnet18_mini.pth", "layer2.0.conv1.weight", [16], ["layer2.0.conv1.weight"]),
        ("vgg", "torch/vgg11_mini.pth", "features.0.weight", [8, 27], ["features.0.weight"]),
        ("vgg", "torch/vgg11_mini.pth", "features.0.weight", [0, 3, 3, 3], ["features.0.weight"]),
        ("vgg", "torch/vgg11_mini.pth", "features.0.weight", [1 << 21, 0, 3, 3], ["features.0.weight"]),
        ("vgg", "torch/vgg11_mini.pth", "classifier.0.weight", [0, 32], ["classifier.0.weight"]),
        ("efficientnet", "torch/efficientnet_b0_mini.pth", "features.0.0.weight", [8], ["features.0.0.weight"]),
        ("efficientnet", "torch/efficientnet_b0_mini.pth", "features.0.0.weight", [0, 3, 3, 3], ["features.0.0.weight"]),
        ("efficientnet", "torch/efficientnet_b0_mini.pth", "features.0.0.weight", [1 << 21, 0, 3, 3], ["features.0.0.weight"]),
        ("efficientnet", "torch/efficientnet_b0_mini.pth", "classifier.1.weight", [10], ["classifier.1.weight"]),
        ("densenet", "zoo/dense/densenet_mini.pth", "features.conv0.weight", [8], ["features.conv0.weight"]),
        ("regnet", "zoo/dense/regnet_x_mini.pth", "stem.0.weight", [0, 3, 3, 3], ["stem.0.weight"]),
    ]

    static func familyCommand(_ i: Int, _ family: String) -> [String] {
        let commands = [
            ["summary", "--arch", family, "--checkpoint", "{in}"],
            ["predict", "--arch", family, "--checkpoint", "{in}", "@timm/photo.jpg"],
            ["verify", "--arch", family, "--checkpoint", "{in}", "--input", "@models/input_2x3x64x64.npy",
             "--reference", "@models/resnet18_mini_logits.npy", "--output", "{out}/y.npy"],
            ["features", "--arch", family, "--checkpoint", "{in}", "--input", "@models/input_2x3x64x64.npy",
             "--layer", "pool", "--output", "{out}/f.npy"],
            ["export", "--format", "onnx", "--arch", family, "{in}", "{out}/x.onnx"],
        ]
        return commands[i % commands.count]
    }

    static var cases: [HostileCase] {
        var out: [HostileCase] = []
        for (i, (name, record, reasons)) in records.enumerated() {
            let make: @Sendable () throws -> [UInt8] = { try store(["graft.preprocessing": record]) }
            out.append(HostileCase("store.preprocessing.\(name).predict", .bytes("pp_\(name).safetensors", make),
                                   ["predict", "--checkpoint", "{in}", "@timm/photo.jpg"], reasons))
            out.append(HostileCase("store.preprocessing.\(name).preprocess", .bytes("pp_\(name).safetensors", make),
                                   C.preprocess, reasons))
            if i % 3 == 0 {
                out.append(HostileCase("store.preprocessing.\(name).finetune", .bytes("pp_\(name).safetensors", make),
                                       ["finetune", "--checkpoint", "{in}", "--data", "@demo/images", "--epochs", "1", "--lr", "1e-3",
                                        "--output", "{out}/ft.safetensors"], reasons))
            }
        }
        for (i, (family, fixture, tensor, shape, reasons)) in configs.enumerated() {
            let name = "\(family).\(tensor).\(shape.map(String.init).joined(separator: "x"))"
            for j in 0..<2 {
                out.append(HostileCase("config.\(name).\(j)", reshaped(fixture, tensor, shape), familyCommand(i + j * 2, family), reasons))
            }
        }
        return out + StoreMetadataCases.cases + TimmFolderCases.cases
    }
}
