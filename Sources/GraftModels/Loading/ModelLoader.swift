import GraftCore
import GraftNN
import GraftStore

/// Options for loading a checkpoint into a graph.
public struct LoadOptions: Sendable {
    /// Keys the model needs that may be initialized when the checkpoint lacks them (`fc.*`).
    public var allowMissing: [Glob] = []
    /// Checkpoint keys the model may leave unused.
    public var ignore: [Glob] = []
    /// Force a naming scheme instead of detecting it.
    public var scheme: NamingScheme?
    /// An explicit architecture (the miniatures' configs), overriding the name.
    public var spec: ArchSpec?
    public var seed: UInt64 = 0

    public init() {}
}

/// A model with what loading did to get it.
public struct LoadedModel {
    public let model: Model
    public let spec: ArchSpec
    public let scheme: NamingScheme
    public let notes: [String]
    /// Keys initialized because the checkpoint lacked them and `allowMissing` allowed it.
    public let initialized: [String]
    /// Each checkpoint key and the model key it was renamed to (equal under torchvision naming).
    public let renames: [(source: String, model: String)]
}

/// Turns a weight store (any format Graft reads) into a running graph: detect or apply the naming
/// scheme, decide the architecture (named, inferred from the shapes for a family name, or explicit),
/// build it and load the state dict strictly (every key's presence and shape checked).
public enum ModelLoader {
    public static func load(arch: String, store: WeightStore, options: LoadOptions = LoadOptions()) throws -> LoadedModel {
        let source = store.entries.map { (name: $0.name, tensor: $0.tensor) }
        let scheme = options.scheme ?? store.namingScheme
        var spec = try options.spec ?? specFor(arch: arch, source: source, scheme: scheme)
        var notes: [String] = []
        if scheme != .torchvision { notes.append("naming: \(scheme.summary)") }
        var tensors = source
        switch scheme {
        case .timmVGG:
            let r = VGGKeyRules.map(source)
            tensors = r.tensors
            notes += r.notes
        case .timmEfficientNet, .efficientnetPytorch:
            guard case .efficientnet(var c) = spec else { throw ZooError.unknownArch(arch) }
            if scheme == .efficientnetPytorch { c.firstBlockResidual = false }
            spec = .efficientnet(c)
            tensors = try EfficientNetKeyRules.map(source, scheme: scheme, stageLayers: c.stages.map(\.layers))
        case .keras:
            let r = try KerasKeyRules.map(source)
            tensors = r.tensors
            notes += r.notes
        case .torchvision, .timm:
            // A timm folder's store already holds Graft's names.
            break
        }
        if DenseNetKeyRules.needsRenaming(tensors.map(\.name)) {
            tensors = DenseNetKeyRules.map(tensors)
            notes.append("DenseNet keys in the old norm.1/conv.2 naming, renamed as torchvision's loader does")
        }
        let adapted = ArchitectureDetection.adapted(spec, to: Dictionary(tensors.map { ($0.name, $0.tensor.shape) },
                                                                         uniquingKeysWith: { a, _ in a }))
        if adapted != spec { notes.append("the checkpoint's own layout: \(ArchitectureDetection.layoutNote(spec, adapted))") }
        spec = adapted
        // A fine-tuned checkpoint has its own class count: take it from the classifier's rows.
        if let rows = tensors.first(where: { $0.name == spec.classifierKey })?.tensor.shape.first, rows != spec.numClasses {
            spec = spec.withClasses(rows)
            notes.append("\(rows) classes (from \(spec.classifierKey))")
        }
        // Weights trained with another BatchNorm eps than the graph's (a timm MobileNetV3) record it.
        if let eps = store.metadata.bnEps, spec.batchNormEps != nil, spec.batchNormEps != eps {
            spec = spec.withBatchNormEps(eps)
            notes.append("BatchNorm eps \(eps), as the weights were trained")
        }
        let model = try buildWithinDeclaredSize(spec, arch: arch, seed: options.seed, tensors: tensors.map(\.tensor))
        let byName = Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        let stateSource = StateDictSource(keys: tensors.map(\.name), shape: { byName[$0]?.shape }, read: { key in
            guard let t = byName[key] else { throw ZooError.unknownArch(key) }
            return try t.load()
        })
        let report = model.network.load(from: stateSource, allowMissing: { key in options.allowMissing.contains { $0.matches(key) } },
                                        ignore: { key in options.ignore.contains { $0.matches(key) } })
        if !report.isClean { throw LoadError(arch: arch, problems: report.problems) }
        // Keys the checkpoint lacked and --allow-missing allowed start as the architecture initializes them.
        let missing = Set(report.missingAllowed.map { ObjectIdentifier($0.parameter) })
        if !missing.isEmpty { model.network.initialize(seed: options.seed, scheme: .kaiming, only: missing) }
        model.outputActivation = OutputActivation(recordedIn: store.metadata, store: store.sourcePath)
        if model.outputActivation != .linear {
            notes.append("outputs: the logits through \(model.outputActivation.name), the source model's classifier activation")
        }
        return LoadedModel(model: model, spec: spec, scheme: scheme, notes: notes, initialized: report.missingAllowed.map { $0.name },
                           renames: zip(source, tensors).map { ($0.name, $1.name) })
    }

    /// Loads a checkpoint whose architecture is neither given nor recorded: detected from its keys and
    /// shapes (`ArchitectureDetection`), never guessed.
    public static func load(store: WeightStore, options: LoadOptions = LoadOptions()) throws -> LoadedModel {
        let detected = try ArchitectureDetection.detect(store.entries.map { (name: $0.name, tensor: $0.tensor) })
        var detectedOptions = options
        detectedOptions.spec = options.spec ?? detected.spec
        detectedOptions.scheme = options.scheme ?? detected.scheme
        if store.namingScheme == .timm { detectedOptions.scheme = .timm }
        let loaded = try load(arch: detected.arch, store: store, options: detectedOptions)
        return LoadedModel(model: loaded.model, spec: loaded.spec, scheme: loaded.scheme,
                           notes: ["architecture \(detected.arch), detected from the checkpoint's keys and shapes"] + loaded.notes,
                           initialized: loaded.initialized, renames: loaded.renames)
    }

    /// Builds the model under a `ParameterBudget`: the elements the checkpoint declares, plus room for
    /// keys `--allow-missing` may leave out (a VGG classifier), never past 2^31. Sizes read from a
    /// hostile file's shapes (a family name over 20,000 extra block keys) end in an error here
    /// instead of gigabytes of zeros.
    static func buildWithinDeclaredSize(_ spec: ArchSpec, arch: String, seed: UInt64, tensors: [LazyTensor]) throws -> Model {
        let declared = tensors.reduce(0) { min($0 + min($1.elementCount, 1 << 31), 1 << 31) }
        let budget = ParameterBudget(elements: min(declared + (1 << 27), 1 << 31))
        let model = ParameterBudget.$current.withValue(budget) { Zoo.model(spec, arch: arch, seed: seed) }
        guard !budget.exceeded else { throw ZooError.implausibleSize(arch: arch, declaredElements: declared) }
        return model
    }

    /// A model with fresh weights (torchvision's init), for benchmarks and tests.
    public static func random(arch: String, seed: UInt64 = 0, numClasses: Int? = nil) throws -> Model {
        guard var spec = Zoo.spec(named: arch) else { throw ZooError.unknownArch(arch) }
        if let n = numClasses { spec = spec.withClasses(n) }
        let model = Zoo.model(spec, arch: arch, seed: seed)
        model.network.initialize(seed: seed, scheme: .kaiming)
        return model
    }

    static func specFor(arch: String, source: [(name: String, tensor: LazyTensor)], scheme: NamingScheme) throws -> ArchSpec {
        if let named = Zoo.spec(named: arch) { return named }
        guard Zoo.families.contains(arch) else { throw ZooError.unknownArch(arch) }
        var tensors = source
        if scheme == .timmVGG { tensors = VGGKeyRules.map(source).tensors }
        if scheme == .timmEfficientNet { tensors = try EfficientNetKeyRules.map(source, scheme: scheme, stageLayers: nil) }
        if scheme == .efficientnetPytorch { throw NamingError.needsStageLayout(scheme.rawValue) }
        // .timm: the store's keys are Graft's already.
        if DenseNetKeyRules.needsRenaming(tensors.map(\.name)) { tensors = DenseNetKeyRules.map(tensors) }
        return try Zoo.inferSpec(family: arch, shapes: Dictionary(tensors.map { ($0.name, $0.tensor.shape) }, uniquingKeysWith: { a, _ in a }))
    }
}
