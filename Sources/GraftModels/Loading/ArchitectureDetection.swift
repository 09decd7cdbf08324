import GraftCore
import GraftNN
import GraftStore

/// What `ArchitectureDetection` found: the builder name (or, for sizes no torchvision builder has, the
/// family name), the exact config and the key naming.
public struct DetectedArchitecture: Sendable, Equatable {
    public let arch: String
    public let spec: ArchSpec
    public let scheme: NamingScheme
}

public enum DetectionError: Error, CustomStringConvertible, Equatable {
    /// No architecture has exactly these keys and shapes; the closest candidates, each with what differs.
    case unknown(closest: [String])
    /// More than one architecture has exactly these keys and shapes.
    case ambiguous([String])

    public var description: String {
        switch self {
        case .unknown(let closest):
            return "no architecture of the zoo has exactly this checkpoint's keys and shapes"
                + (closest.isEmpty ? " (no family's keys are in it); pass --arch" : "; closest: " + closest.joined(separator: "; "))
        case .ambiguous(let names):
            return "the keys and shapes fit more than one architecture (\(names.joined(separator: ", "))); pass --arch"
        }
    }
}

/// Identifies a checkpoint's architecture from its key set and shapes, never by guessing: every
/// candidate is built and its state dict compared key for key and shape for shape with the
/// checkpoint's (after the naming scheme's rules); exactly one must fit.
///
/// Candidates: each family whose config can be read back from the shapes (ResNet, VGG, EfficientNet,
/// ConvNeXt, MobileNet, MNASNet, DenseNet, ShuffleNet, RegNet), and the fixed-size builders of the
/// other families when their characteristic key is present. Keras layer names are compared with the
/// `keras.applications` builders, efficientnet_pytorch names with each EfficientNet's block layout.
public enum ArchitectureDetection {
    public static func detect(_ source: [(name: String, tensor: LazyTensor)]) throws -> DetectedArchitecture {
        let scheme = NamingScheme.detect(source.map(\.name))
        var fits: [DetectedArchitecture] = []
        var misses: [(arch: String, differences: Int, example: String)] = []
        for (arch, spec, keys) in try candidates(source, scheme: scheme, unreadable: &misses) {
            let withClasses = keys[spec.classifierKey].flatMap(\.first).map { spec.withClasses($0) } ?? spec
            let difference = compare(withClasses, keys)
            if difference.count == 0 {
                fits.append(DetectedArchitecture(arch: arch, spec: withClasses, scheme: scheme))
            } else {
                misses.append((arch, difference.count, difference.example))
            }
        }
        // A builder that explains the checkpoint exactly beats a family reading of the same shapes
        // (EfficientNet's family read of a V2 checkpoint has V2's keys but B0's BatchNorm eps).
        let named = fits.filter { Zoo.spec(named: $0.arch) != nil }
        let chosen = named.isEmpty ? fits : named
        var seen = Set<String>()
        let unique = chosen.filter { seen.insert($0.arch).inserted }
        if unique.count == 1 { return unique[0] }
        if unique.count > 1 { throw DetectionError.ambiguous(unique.map(\.arch)) }
        let closest = misses.sorted { $0.differences < $1.differences }.prefix(3)
        throw DetectionError.unknown(closest: closest.map {
            $0.differences == Int.max ? "\($0.arch) (\($0.example))" : "\($0.arch) (\($0.differences) keys differ, e.g. \($0.example))"
        })
    }

    typealias Shapes = [String: [Int]]

    /// (name, config, the checkpoint's shapes under torchvision's names for that config).
    static func candidates(_ source: [(name: String, tensor: LazyTensor)], scheme: NamingScheme,
                           unreadable: inout [(arch: String, differences: Int, example: String)]) throws
        -> [(String, ArchSpec, Shapes)] {
        func shapes(_ tensors: [(name: String, tensor: LazyTensor)]) -> Shapes {
            Dictionary(tensors.map { ($0.name, $0.tensor.shape) }, uniquingKeysWith: { a, _ in a })
        }
        let kerasNames = Set(KerasApplications.table.keys)
        switch scheme {
        case .keras:
            let keys = shapes(try KerasKeyRules.map(source).tensors)
            return Zoo.archNames.filter(kerasNames.contains).map { ($0, Zoo.spec(named: $0)!, keys) }
        case .efficientnetPytorch:
            return Zoo.archNames.filter { $0.hasPrefix("efficientnet_") && !kerasNames.contains($0) }.compactMap { arch in
                guard case .efficientnet(var c) = Zoo.spec(named: arch)!,
                      let mapped = try? EfficientNetKeyRules.map(source, scheme: scheme, stageLayers: c.stages.map(\.layers))
                else { return nil }
                c.firstBlockResidual = false
                return (arch, .efficientnet(c), shapes(mapped))
            }
        case .timmVGG, .timmEfficientNet, .torchvision, .timm:
            var tensors = source
            if scheme == .timmVGG { tensors = VGGKeyRules.map(source).tensors }
            if scheme == .timmEfficientNet { tensors = try EfficientNetKeyRules.map(source, scheme: scheme, stageLayers: nil) }
            if DenseNetKeyRules.needsRenaming(tensors.map(\.name)) { tensors = DenseNetKeyRules.map(tensors) }
            let keys = shapes(tensors)
            var out: [(String, ArchSpec, Shapes)] = []
            for family in Zoo.table {
                if let infer = family.infer {
                    let spec: ArchSpec
                    do { spec = try infer(keys) } catch let error as ConfigInference.Error {
                        // A family whose keys are there but whose shapes make no network of it.
                        if case .badShape = error { unreadable.append((family.name, Int.max, "\(error)")) }
                        continue
                    } catch { continue }
                    guard family.accepts(spec) else { continue }
                    if let named = Zoo.named(like: spec), !kerasNames.contains(named.name) {
                        out.append((named.name, adapted(named.spec, to: keys), keys))
                    } else {
                        out.append((family.name, adapted(spec, to: keys), keys))
                    }
                } else if let marker = family.marker, keys[marker] != nil {
                    for (arch, spec) in family.named.sorted(by: { $0.key < $1.key }) where !kerasNames.contains(arch) {
                        out.append((arch, adapted(spec, to: keys), keys))
                    }
                }
            }
            return out
        }
    }

    /// What the shapes say beyond the family's numbers: GoogLeNet / Inception v3 saved without their
    /// auxiliary heads, MNASNet's version-1 stem.
    static func adapted(_ spec: ArchSpec, to keys: Shapes) -> ArchSpec {
        switch spec {
        case .googlenet(var c) where c.auxLogits && keys["aux1.conv.conv.weight"] == nil:
            c.auxLogits = false
            return .googlenet(c)
        case .inceptionV3(var c) where c.auxLogits && keys["AuxLogits.conv0.conv.weight"] == nil:
            c.auxLogits = false
            return .inceptionV3(c)
        case .mnasnet(let c):
            return .mnasnet(c.adapted(toCheckpointShapes: keys))
        default:
            return spec
        }
    }

    /// What `adapted` changed, in words.
    static func layoutNote(_ before: ArchSpec, _ after: ArchSpec) -> String {
        switch (before, after) {
        case (.googlenet, .googlenet), (.inceptionV3, .inceptionV3): return "saved without its auxiliary classifiers"
        case (.mnasnet, .mnasnet): return "MNASNet version-1 stem (32 → 16 channels), as torchvision loads it"
        default: return "sizes read from its shapes"
        }
    }

    /// How many keys differ between the spec's state dict and `keys` (missing, unexpected, other
    /// shape; `num_batches_tracked` ignored, old checkpoints lack it), and one of them.
    static func compare(_ spec: ArchSpec, _ keys: Shapes) -> (count: Int, example: String) {
        let counter = "num_batches_tracked"
        // A network that fits has exactly the checkpoint's elements, so the candidate is built under a
        // budget of those (and never more than 2^31): widths a hostile file declares cannot make it
        // allocate more than the file claims to hold.
        let declared = keys.values.reduce(0) { total, shape in
            let n = shape.reduce(1) { $0.multipliedReportingOverflow(by: max($1, 0)).overflow ? Int.max / 2 : $0 * max($1, 0) }
            return min(total + min(n, 1 << 31), 1 << 31)
        }
        let budget = ParameterBudget(elements: min(declared + (1 << 16), 1 << 31), shapesOnly: true)
        let network = ParameterBudget.$current.withValue(budget) { Zoo.network(spec) }
        if budget.exceeded { return (Int.max, "its parameters exceed the \(declared) elements the checkpoint declares") }
        var expected: Shapes = [:]
        for (name, p) in network.namedParameters() where !name.hasSuffix(counter) { expected[name] = p.value.shape }
        var count = 0, example = ""
        func note(_ text: String) { if count == 0 { example = text }; count += 1 }
        for (name, shape) in expected.sorted(by: { $0.key < $1.key }) {
            guard let found = keys[name] else { note("missing \(name)"); continue }
            if found != shape { note("\(name) is \(Array(found.prefix(8))), expected \(shape)") }
        }
        // Checkpoint keys are the file's: quoted safely and cut to 200 characters.
        for name in keys.keys.sorted() where !name.hasSuffix(counter) && expected[name] == nil {
            note("unexpected \(SafeText.quoted(name, quote: "'"))")
        }
        return (count, example)
    }
}
