import Foundation
import GraftCore
import GraftPickle
import GraftSafetensors
import GraftStore
import GraftTestSupport

/// A store's other metadata and keys: unknown or hostile architecture names, huge and countless keys
/// (messages stay one bounded line), and the positive controls that show the base files are good.
enum StoreMetadataCases {
    static let C = CheckpointCommands.self

    static var cases: [HostileCase] {
        let longKey = String(repeating: "k", count: 100_000)
        return [
            // Controls: the unmodified inputs pass, so a refusal below is the mutation's doing.
            HostileCase("control.store.predict", .bytes("good.safetensors", { try StoreCases.store(["graft.preprocessing": StoreCases.preset()]) }),
                        ["predict", "--checkpoint", "{in}", "@timm/photo.jpg"], [], exit: 0),
            HostileCase("control.timm.predict", .folder("good_timm", { try Bases.timmFolder("resnet50_mini", into: $0, config: nil) }),
                        ["predict", "--checkpoint", "{in}", "@timm/photo.jpg"], [], exit: 0),
            HostileCase("control.torch.verify", .path(TestPaths.fixture("torch/resnet18_mini.pth")),
                        ["verify", "--arch", "resnet", "--checkpoint", "{in}", "--input", "@models/input_2x3x64x64.npy",
                         "--reference", "@models/resnet18_mini_logits.npy"], [], exit: 0),
            HostileCase("store.arch_unknown", .bytes("arch_unknown.safetensors", { try StoreCases.store([:], arch: "resnet9999") }),
                        C.summary, ["resnet9999"]),
            HostileCase("store.arch_vgg_for_resnet", .bytes("arch_vgg.safetensors", { try StoreCases.store([:], arch: "vgg11") }),
                        ["predict", "--checkpoint", "{in}", "@timm/photo.jpg"], ["missing", "unused", "features.0.weight"]),
            HostileCase("store.arch_100k", .bytes("arch_100k.safetensors", { try StoreCases.store([:], arch: longKey) }),
                        C.summary, ["kkkk"]),
            HostileCase("store.arch_escape", .bytes("arch_escape.safetensors", { try StoreCases.store([:], arch: "\u{1b}[2J\u{202E}x") }),
                        C.summary, ["\\u{1B}", "\\u{1b}"]),
            HostileCase("store.key_100k.verify", .bytes("key_100k.safetensors", { try withLongKey(longKey) }),
                        CheckpointCommands.verify, ["is 100000 bytes, longer than the limit of 4096"]),
            HostileCase("store.key_100k.predict", .bytes("key_100k.safetensors", { try withLongKey(longKey) }),
                        CheckpointCommands.predict, ["is 100000 bytes, longer than the limit of 4096"]),
            // A torch pickle has no name limit: the key reaches the load check and is quoted cut short.
            HostileCase("torch.key_100k.verify", .bytes("torch_key_100k.pth", {
                try TorchBytes.zip(.dict([PickleDictEntry(key: .string(longKey), value: TorchBytes.tensor(
                    TorchBytes.storage("0", numel: .int(4)), size: TorchBytes.ints([4]), stride: TorchBytes.ints([1])))]),
                    records: ["0": TorchBytes.floats(4)])
            }), ["verify", "--arch", "resnet18", "--allow-missing", "*", "--checkpoint", "{in}", "--input", "@models/input_2x3x64x64.npy",
                 "--reference", "@models/resnet18_mini_logits.npy", "--output", "{out}/y.npy"], ["unused key 'kkkk"]),
            HostileCase("store.keys_20000.verify", withExtraKeys((0..<20_000).map { "extra.\($0)" }),
                        CheckpointCommands.verify, ["unused key"]),
            HostileCase("store.keys_20000.features", withExtraKeys((0..<20_000).map { "extra.\($0)" }),
                        CheckpointCommands.features, ["unused key"]),
            HostileCase("store.keys_20000.finetune", withExtraKeys((0..<20_000).map { "extra.\($0)" }),
                        CheckpointCommands.finetune, ["unused key"]),
            HostileCase("store.key_escape.verify", withExtraKeys(["fc.\u{1b}]0;pwned\u{07}"]),
                        CheckpointCommands.verify, ["unused key"]),
        ]
    }

    /// The timm ResNet-50 miniature with one more, empty tensor under `key` (longer than Graft's writer
    /// allows, so the header is edited directly).
    static func withLongKey(_ key: String) throws -> [UInt8] {
        var parts = try Bases.timmWeights("resnet50_mini")
        parts.header[key] = ["dtype": "F32", "shape": [0], "data_offsets": [parts.data.count, parts.data.count]] as [String: Any]
        return parts.bytes
    }

    /// The ResNet-18 miniature's tensors plus one-float `names`, as a plain safetensors store.
    static func withExtraKeys(_ names: [String]) -> HostileInput {
        .writer("keys_\(names.count)_\(names.first?.utf8.count ?? 0).safetensors") { path in
            let source = try WeightStore.open(TestPaths.fixture("torch/resnet18_mini.pth"))
            let count = source.entries.count
            let entries = source.entries.map { (name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape) }
                + names.map { (name: $0, dtype: DType.float32, shape: [1]) }
            try SafetensorsWriter.write(to: path, entries: entries, metadata: []) { i in
                i < count ? try source.entries[i].tensor.load().data : ByteBuffer([0, 0, 0, 0])
            }
        }
    }
}

/// timm hub folders whose config.json or weights lie.
enum TimmFolderCases {
    /// The resnet50 miniature's config.json as an object, changed by `edit`.
    static func config(_ edit: (inout [String: Any]) -> Void) throws -> String {
        let url = URL(fileURLWithPath: TestPaths.fixture("timm/resnet50_mini")).appendingPathComponent("config.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        edit(&object)
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func cfg(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
        { o in
            var p = o["pretrained_cfg"] as? [String: Any] ?? [:]
            p[key] = value
            o["pretrained_cfg"] = p
        }
    }

    /// (name, config.json text, reasons).
    static let configs: [(String, @Sendable () throws -> String, [String])] = [
        ("not_json", { "{architecture: resnet50" }, ["config.json"]),
        ("json_array", { "[1,2,3]" }, ["not a JSON object"]),
        ("deep_nesting", { "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}" },
         ["levels deep"]),
        ("two_mib", { "{\"architecture\":\"resnet50\",\"pad\":\"" + String(repeating: "x", count: 2 << 20) + "\"}" }, ["config.json"]),
        ("no_architecture", { try config { $0["architecture"] = nil } }, ["architecture"]),
        ("architecture_number", { try config { $0["architecture"] = 50 } }, ["architecture"]),
        ("architecture_path", { try config { $0["architecture"] = "../../etc/passwd" } }, ["architecture"]),
        ("architecture_unknown", { try config { $0["architecture"] = "resnet9999" } }, ["resnet9999"]),
        ("num_classes_negative", { try config { $0["num_classes"] = -1 } }, ["num_classes"]),
        ("num_classes_1e12", { try config { $0["num_classes"] = 1_000_000_000_000 } }, ["num_classes"]),
        ("num_classes_not_the_weights", { try config { $0["num_classes"] = 7; $0["label_names"] = (0..<7).map { "c\($0)" } } },
         ["num_classes", "rows"]),
        ("num_features_zero", { try config { $0["num_features"] = 0 } }, ["num_features"]),
        ("label_names_count", { try config { $0["label_names"] = ["a", "b"] } }, ["label_names"]),
        ("label_names_not_list", { try config { $0["label_names"] = "abc" } }, ["label_names"]),
        ("label_name_long", { try config { $0["label_names"] = [String(repeating: "y", count: 5_000), "b", "c", "d", "e"] } },
         ["label_names"]),
        ("bn_eps_zero", { try config { o in var a = o["model_args"] as? [String: Any] ?? [:]; a["bn_eps"] = 0; o["model_args"] = a } },
         ["model_args.bn_eps"]),
        ("model_args_array", { try config { $0["model_args"] = [1] } }, ["model_args"]),
        ("pretrained_cfg_string", { try config { $0["pretrained_cfg"] = "x" } }, ["pretrained_cfg"]),
        ("input_size_1e9", { try config(cfg("input_size", [3, 1_000_000_000, 1_000_000_000])) }, ["pretrained_cfg.input_size"]),
        ("input_size_two", { try config(cfg("input_size", [32, 32])) }, ["pretrained_cfg.input_size"]),
        ("crop_pct_zero", { try config(cfg("crop_pct", 0)) }, ["pretrained_cfg.crop_pct"]),
        ("crop_pct_1e9", { try config(cfg("crop_pct", 1e9)) }, ["pretrained_cfg.crop_pct"]),
        ("mean_1e39", { try config(cfg("mean", [1e39, 0, 0])) }, ["pretrained_cfg.mean"]),
        ("mean_string", { try config(cfg("mean", ["a", "b", "c"])) }, ["pretrained_cfg.mean"]),
        ("std_four", { try config(cfg("std", [1, 1, 1, 1])) }, ["pretrained_cfg.std"]),
        ("interpolation_sinc", { try config(cfg("interpolation", "sinc")) }, ["sinc"]),
        ("crop_mode_weird", { try config(cfg("crop_mode", "weird")) }, ["weird"]),
    ]

    static let commands: [[String]] = [
        ["inspect", "{in}"], ["predict", "--checkpoint", "{in}", "@timm/photo.jpg"], CheckpointCommands.preprocess,
        ["summary", "--checkpoint", "{in}"], CheckpointCommands.convert,
    ]

    static var cases: [HostileCase] {
        var out: [HostileCase] = []
        for (i, (name, text, reasons)) in configs.enumerated() {
            for j in 0..<2 {
                out.append(HostileCase("timm.\(name).\(j)", .folder("timm_\(name)", {
                    try Bases.timmFolder("resnet50_mini", into: $0, config: try text())
                }), commands[(i + j * 2) % commands.count], reasons))
            }
        }
        let broken: [(String, @Sendable (URL) throws -> Void, [String])] = [
            ("weights_missing", { dir in
                try Bases.timmFolder("resnet50_mini", into: dir, config: nil)
                try FileManager.default.removeItem(at: dir.appendingPathComponent("model.safetensors"))
            }, ["model.safetensors"]),
            ("weights_truncated", { dir in
                let w = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("timm/resnet50_mini")).appendingPathComponent("model.safetensors"))
                try Bases.timmFolder("resnet50_mini", into: dir, config: nil, weights: Array(w.prefix(w.count / 2)))
            }, ["shorter than its header declares"]),
            ("config_is_folder", { dir in
                try Bases.timmFolder("resnet50_mini", into: dir, config: nil)
                try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
                try FileManager.default.createDirectory(at: dir.appendingPathComponent("config.json"), withIntermediateDirectories: false)
            }, ["config.json"]),
            ("config_not_utf8", { dir in
                try Bases.timmFolder("resnet50_mini", into: dir, config: nil)
                try Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]).write(to: dir.appendingPathComponent("config.json"))
            }, ["config.json"]),
        ]
        for (i, (name, fill, reasons)) in broken.enumerated() {
            for j in 0..<2 {
                out.append(HostileCase("timm.\(name).\(j)", .folder("timm_\(name)", fill), commands[(i + j * 3) % commands.count], reasons))
            }
        }
        return out
    }
}
