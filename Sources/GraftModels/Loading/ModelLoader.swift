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
}

/// Turns a weight store (any format Graft reads) into a running graph: detect or apply the naming
/// scheme, decide the architecture (named, inferred from the shapes for a family name, or explicit),
/// build it through the strict shape-checked lookup.
public enum ModelLoader {
    public static func load(arch: String, store: WeightStore, options: LoadOptions = LoadOptions()) throws -> LoadedModel {
        let source = store.entries.map { (name: $0.name, tensor: $0.tensor) }
        let scheme = options.scheme ?? NamingScheme.detect(source.map(\.name))
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
        case .torchvision:
            break
        }
        // A fine-tuned checkpoint has its own class count: take it from the classifier's rows.
        if let rows = tensors.first(where: { $0.name == spec.classifierKey })?.tensor.shape.first, rows != spec.numClasses {
            spec = spec.withClasses(rows)
            notes.append("\(rows) classes (from \(spec.classifierKey))")
        }
        let parameters = ParameterSource(tensors: tensors, allowMissing: options.allowMissing, ignore: options.ignore,
                                         seed: options.seed)
        let model = Zoo.build(spec, arch: arch, source: parameters, seed: options.seed)
        try parameters.finish(arch: arch)
        return LoadedModel(model: model, spec: spec, scheme: scheme, notes: notes, initialized: parameters.initialized)
    }

    /// A model with fresh weights (torchvision's init), for benchmarks and tests.
    public static func random(arch: String, seed: UInt64 = 0, numClasses: Int? = nil) throws -> Model {
        guard var spec = Zoo.spec(named: arch) else { throw ZooError.unknownArch(arch) }
        if let n = numClasses { spec = spec.withClasses(n) }
        return Zoo.build(spec, arch: arch, source: .initializing(seed: seed), seed: seed)
    }

    static func specFor(arch: String, source: [(name: String, tensor: LazyTensor)], scheme: NamingScheme) throws -> ArchSpec {
        if let named = Zoo.spec(named: arch) { return named }
        guard Zoo.families.contains(arch) else { throw ZooError.unknownArch(arch) }
        var tensors = source
        if scheme == .timmVGG { tensors = VGGKeyRules.map(source).tensors }
        if scheme == .timmEfficientNet { tensors = try EfficientNetKeyRules.map(source, scheme: scheme, stageLayers: nil) }
        if scheme == .efficientnetPytorch { throw NamingError.needsStageLayout(scheme.rawValue) }
        return try Zoo.inferSpec(family: arch, shapes: Dictionary(tensors.map { ($0.name, $0.tensor.shape) }, uniquingKeysWith: { a, _ in a }))
    }
}
