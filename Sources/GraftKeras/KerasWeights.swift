import GraftCore
import GraftHDF5

/// The two ways Keras lays weights out in HDF5.
public enum KerasFileLayout: String, Sendable, Equatable {
    /// `layer_names` / `weight_names` attributes, one group per layer (tf.keras 2.x
    /// `save_weights("x.h5")`, Keras 3's legacy writer, and full-model `.h5` under `model_weights`).
    case legacyH5 = "legacy-h5"
    /// Keras 3 `save_weights("x.weights.h5")`: `layers/<class_key>/vars/<i>`.
    case kerasV3 = "keras-v3"
}

/// Where a layer's class name came from.
public enum KerasClassSource: String, Sendable, Equatable {
    /// The Keras 3 group key (`conv2d_3` is a Conv2D): exact.
    case fileKey = "file key"
    /// The `model_config` JSON of a full-model file: exact.
    case modelConfig = "model config"
    /// `KerasImportOptions.classHints`.
    case hint
    /// The weight names and shapes where they decide the class (`moving_mean` → BatchNormalization,
    /// `depthwise_kernel` → DepthwiseConv2D, a 2-D `kernel` → Dense, a 4-D `kernel` in a tf.keras
    /// file → Conv2D).
    case weightNames = "weight names"
    /// The kernel's rank alone (a 4-D `kernel` → Conv2D). A Keras-3 legacy file stores a
    /// DepthwiseConv2D kernel under the same name, so this is a guess: pass a hint to be sure.
    case kernelRank = "kernel rank (guess)"
}

/// Options for `KerasWeights.read`.
public struct KerasImportOptions: Sendable {
    /// Limits for the HDF5 layer.
    public var limits: HDF5Limits
    /// Layer name → Keras class name (`"block1a_dwconv": "DepthwiseConv2D"`), for legacy files
    /// that do not say (Keras 3's legacy writer calls a depthwise kernel just `kernel`). A graph
    /// builder knows its layers' classes and can pass them here. In legacy files a hint wins over
    /// every other source; in Keras 3 files the class key is exact and a hint only names layers
    /// whose key Graft does not know.
    public var classHints: [String: String]

    public init(limits: HDF5Limits = .default, classHints: [String: String] = [:]) {
        self.limits = limits
        self.classHints = classHints
    }
}

/// One weight of a layer, in both layouts.
public struct KerasWeight: Sendable {
    /// The canonical name: `kernel`, `bias`, `depthwise_kernel`, `gamma`, `beta`, `moving_mean`,
    /// `moving_variance`, `mean`, `variance`, `count`, … (the variable's index for unknown classes).
    public let name: String
    /// The name the file gives it: `conv1_conv/kernel:0` (legacy) or `0`, `1`, … (Keras 3).
    public let storedName: String
    /// The HDF5 path of the dataset.
    public let path: String
    /// The tensor as stored (Keras layout: HWIO conv kernels, `(in, out)` dense kernels).
    public let raw: LazyTensor
    /// The tensor in Graft's layout (OIHW, `(out, in)`); the same as `raw` when `layoutChange`
    /// is nil.
    public let tensor: LazyTensor
    /// The change from `raw` to `tensor`, if any.
    public let layoutChange: KerasLayoutChange?
}

/// One layer that has weights.
public struct KerasLayer: Sendable {
    /// The user-visible layer name (`conv2_block1_1_conv`), or `fileKey` when the file does not
    /// record it (see `KerasWeights.hasLayerNames`). Layers of a nested model are `outer/inner`.
    public let name: String
    /// The layer's group path relative to the weights root: the layer name in legacy files,
    /// `conv2d_3` (or `functional/layers/conv2d`) in Keras 3 files.
    public let fileKey: String
    /// The Keras class (`Conv2D`, `DepthwiseConv2D`, `BatchNormalization`, `Dense`,
    /// `Normalization`, …), nil when unknown.
    public let className: String?
    public let classSource: KerasClassSource?
    /// Keras 3 files: the layer's position among the model's layers of the same class (the `3`
    /// of `conv2d_3`, 0 for `conv2d`). A graph that knows its layer order maps layers by
    /// (class, index) even when names are missing. Nil for legacy files.
    public let classIndex: Int?
    /// The weights in Keras' order (trainable first, then non-trainable).
    public let weights: [KerasWeight]

    /// The weight with canonical name `name`.
    public func weight(_ name: String) -> KerasWeight? { weights.first { $0.name == name } }
}

/// The weights of a Keras HDF5 file, under canonical names, in both the stored layout and Graft's.
public struct KerasWeights: Sendable {
    public let layout: KerasFileLayout
    /// `keras_version` / `backend` attributes (legacy files; Keras 3 files record neither).
    public let kerasVersion: String?
    public let backend: String?
    /// Layers with at least one weight. Legacy: `layer_names` order (the model's layer order).
    /// Keras 3: by class key, then per-class index — the file does not record the order across
    /// classes (see `notes`).
    public let layers: [KerasLayer]
    /// Whether `KerasLayer.name` holds user-visible names (always for legacy files; for Keras 3
    /// files when every variable group carries the `name` attribute, as Keras ≥ 3.x writes).
    public let hasLayerNames: Bool
    /// What the reader inferred or skipped, one line each (for the store's metadata).
    public let notes: [String]
    /// The `predictions` layer's activation as a full-model file's `model_config` records it
    /// (`softmax`, `linear`, …); nil when the file carries no config (weights-only files).
    public let classifierActivation: String?

    /// Every layout change applied, in layer order.
    public var layoutChanges: [KerasLayoutChange] { layers.flatMap { $0.weights.compactMap(\.layoutChange) } }

    /// `layer/weight` → tensor in Graft's layout (`conv2_block1_1_conv/kernel` is OIHW).
    public var tensors: [(name: String, tensor: LazyTensor)] {
        layers.flatMap { layer in layer.weights.map { (name: "\(layer.name)/\($0.name)", tensor: $0.tensor) }
        }
    }

    /// `layer/weight` → tensor as stored.
    public var rawTensors: [(name: String, tensor: LazyTensor)] {
        layers.flatMap { layer in layer.weights.map { (name: "\(layer.name)/\($0.name)", tensor: $0.raw) } }
    }

    /// The layout changes summarized per kind (`conv kernel HWIO → OIHW: 53 tensors`), for metadata.
    public var layoutChangeSummary: [String] {
        let changes = layoutChanges
        return KerasLayoutChange.Kind.allCases.compactMap { kind in
            let count = changes.filter { $0.kind == kind }.count
            return count == 0 ? nil : "\(kind.rawValue): \(count) tensor\(count == 1 ? "" : "s")"
        }
    }

    public func layer(named name: String) -> KerasLayer? { layers.first { $0.name == name } }

    /// The `predictions` layer's activation in a `model_config` JSON text (nil when it names none).
    public static func classifierActivation(inModelConfig json: String) -> String? {
        KerasModelConfig.classifierActivation(json)
    }

    /// Reads a Keras weight file in either layout (detected from its structure, not its name).
    public static func read(
        path: String, options: KerasImportOptions = KerasImportOptions()
    ) throws -> KerasWeights {
        let file = try keras { try HDF5File(path: path, limits: options.limits) }
        return try read(file: file, options: options)
    }

    /// Reads from an already open HDF5 file.
    public static func read(
        file: HDF5File, options: KerasImportOptions = KerasImportOptions()
    ) throws -> KerasWeights {
        let root = file.root
        if try keras({ try hasLegacyNames(root) }) {
            return try KerasLegacyReader(group: root, config: nil, options: options).read()
        }
        if try keras({ try root.linkKind("model_weights") }) != nil {
            let weights = try keras { try root.group("model_weights") }
            if try keras({ try hasLegacyNames(weights) }) {
                let config = try keras { try root.stringAttribute("model_config") }
                return try KerasLegacyReader(group: weights, config: config, options: options).read()
            }
        }
        for base in ["layers", "_layer_checkpoint_dependencies"]
        where try keras({ try root.linkKind(base) }) != nil {
            return try KerasV3Reader(root: root, base: base, options: options).read()
        }
        throw KerasError.notKerasWeights(file: file.path)
    }

    private static func hasLegacyNames(_ group: HDF5Group) throws -> Bool {
        try group.hasAttribute("layer_names") || group.hasAttribute("layer_names0")
    }

    init(
        layout: KerasFileLayout, kerasVersion: String?, backend: String?, layers: [KerasLayer],
        hasLayerNames: Bool, notes: [String], classifierActivation: String? = nil
    ) throws {
        var seen: Set<String> = []
        for layer in layers {
            for weight in layer.weights where !seen.insert("\(layer.name)/\(weight.name)").inserted {
                throw KerasError.duplicateName("\(layer.name)/\(weight.name)")
            }
        }
        self.layout = layout
        self.kerasVersion = kerasVersion
        self.backend = backend
        self.layers = layers
        self.hasLayerNames = hasLayerNames
        self.notes = notes
        self.classifierActivation = classifierActivation
    }
}
