import Foundation
import GraftCore
import GraftStore

/// `graft export --format timm`: a store as a timm hub folder — `model.safetensors` in timm's key names
/// (the rule tables run backwards) and a `config.json` timm reads (`architecture`, `num_classes`,
/// `num_features`, `pretrained_cfg` from the store's preprocessing with its `num_classes`, `label_names`,
/// `model_args.bn_eps` when the weights' BatchNorm eps is not timm's default for the model).
///
/// Loads in timm with `timm.create_model(arch, pretrained=True, num_classes=N,
/// pretrained_cfg_overlay=dict(file=DIR + "/model.safetensors", num_classes=N))` — the overlay's
/// `num_classes` keeps timm from dropping a classifier of N ≠ 1000 classes — or with
/// `timm.create_model("local-dir:" + DIR, pretrained=True)`, which reads the config.
public enum TimmExport {
    public struct Summary: Sendable, Equatable {
        public let architecture: String
        public let numClasses: Int
        public let tensors: Int
        public let bytes: Int
    }

    public static func write(_ store: WeightStore, to directory: String, arch: String? = nil) throws -> Summary {
        var entries = store.entries.map { (name: $0.name, tensor: $0.tensor) }
        let graftArch = try arch ?? store.metadata.arch ?? ArchitectureDetection.detect(entries).arch
        if store.namingScheme != .torchvision && store.namingScheme != .timm {
            // Weights still in their source's names (efficientnet_pytorch, Keras …): the rule tables run
            // from Graft's names, so take the state dict of the graph they load into.
            let loaded = try ModelLoader.load(arch: graftArch, store: store)
            entries = loaded.model.stateDict().map { (name: $0.name, tensor: LazyTensor($0.tensor)) }
        }
        guard let row = store.metadata.timmArchitecture.flatMap(TimmArchitectures.lookup(timm:))
                ?? TimmArchitectures.lookup(graft: graftArch) else { throw TimmError.noTimmCounterpart(graftArch) }
        let classifierKey = Zoo.spec(named: row.graft)?.classifierKey ?? ""
        guard let classifier = entries.first(where: { $0.name == classifierKey })?.tensor.shape, classifier.count == 2 else {
            throw TimmNamingError(layout: row.layout.rawValue, key: classifierKey, reason: "the classifier is missing or not a matrix")
        }
        let tensors = try TimmKeyRules.toTimm(entries, layout: row.layout)
        var config: [String: Any] = ["architecture": row.timm, "num_classes": classifier[0], "num_features": classifier[1]]
        var pretrained: [String: Any] = ["num_classes": classifier[0]]
        if let pipeline = try store.recordedPipeline() {
            pretrained.merge(try TimmPreprocessing.pretrainedFields(pipeline)) { _, new in new }
        }
        config["pretrained_cfg"] = pretrained
        if let classes = store.metadata.classes, classes.count == classifier[0] { config["label_names"] = classes }
        // The eps the weights were trained with: recorded, else the Graft graph's; timm's default is the row's.
        let trained = store.metadata.bnEps ?? Zoo.spec(named: row.graft)?.batchNormEps ?? 1e-5
        let timmDefault = row.bnEps ?? 1e-5
        if trained != timmDefault {
            guard row.layout == .efficientNet || row.layout == .mobileNetV3 else {
                throw TimmError.notExpressible("BatchNorm eps \(trained) differs from timm's \(timmDefault) for \(row.timm), which takes no bn_eps")
            }
            config["model_args"] = ["bn_eps": Double("\(trained)")!]
        }
        let json = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        try TimmFolderWriter.write(directory: directory, tensors: tensors, config: json)
        return Summary(architecture: row.timm, numClasses: classifier[0], tensors: tensors.count,
                       bytes: tensors.reduce(0) { $0 + $1.tensor.byteCount })
    }
}
