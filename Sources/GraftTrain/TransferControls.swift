import Foundation
import GraftModels
import GraftNN

/// What stays frozen: nothing, everything but the new head, or every module before a given one.
public enum FreezeSpec: Equatable, Sendable, CustomStringConvertible {
    case none
    case backbone
    /// Freeze every parameter before the first one of this module path (`until:layer3`).
    case until(String)

    public init?(parsing text: String) {
        switch text {
        case "none": self = .none
        case "backbone": self = .backbone
        default:
            guard text.hasPrefix("until:"), text.count > 6 else { return nil }
            self = .until(String(text.dropFirst(6)))
        }
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .backbone: return "backbone"
        case .until(let m): return "until:\(m)"
        }
    }
}

/// BatchNorm inside frozen parts (BatchNorm in trainable parts always trains):
/// `frozen` — running statistics, not updated, γ/β frozen (timm's FrozenBatchNorm, Keras);
/// `train-affine` — fastai's train_bn: γ/β train, batch statistics with running updates;
/// `train` — plain `model.train()`: batch statistics with running updates, γ/β frozen with their part.
public enum BNPolicy: String, Sendable, CaseIterable {
    case frozen
    case trainAffine = "train-affine"
    case train
}

/// `--lr 1e-3` (fastai `slice(hi)`: earlier groups hi/10, the head hi) or `--lr 1e-5:1e-3` (fastai
/// `slice(lo, hi)`: geometric from lo to hi across the groups).
public enum LearningRateSpec: Equatable, Sendable, CustomStringConvertible {
    case single(Double)
    case range(Double, Double)

    public init?(parsing text: String) {
        let parts = text.split(separator: ":")
        if parts.count == 1, let v = Double(parts[0]), v > 0 { self = .single(v); return }
        if parts.count == 2, let lo = Double(parts[0]), let hi = Double(parts[1]), lo > 0, hi >= lo { self = .range(lo, hi); return }
        return nil
    }

    /// The text `init(parsing:)` reads back (`0.001`, `1e-05:0.001`).
    public var description: String {
        switch self {
        case .single(let v): return "\(v)"
        case .range(let lo, let hi): return "\(lo):\(hi)"
        }
    }

    /// The learning rate of each of `n` groups (the head last).
    public func rates(groups n: Int, layerDecay: Double? = nil) -> [Double] {
        guard n > 1 else {
            switch self { case .single(let v): return [v]; case .range(_, let hi): return [hi] }
        }
        if let decay = layerDecay {
            let top: Double
            switch self { case .single(let v): top = v; case .range(_, let hi): top = hi }
            return (0..<n).map { top * pow(decay, Double(n - 1 - $0)) }
        }
        switch self {
        case .single(let hi): return Array(repeating: hi / 10, count: n - 1) + [hi]
        case .range(let lo, let hi): return (0..<n).map { lo * pow(hi / lo, Double($0) / Double(n - 1)) }
        }
    }
}

/// Applies freezing and the BatchNorm policy to a model.
public enum Freezing {
    /// Marks every parameter trainable or not, then sets each BatchNorm by its part and the policy,
    /// and decides what the modules record for backward. `until:` takes a module path of the model;
    /// an unknown one is an error listing the valid paths.
    public static func apply(_ model: Model, freeze: FreezeSpec, unfrozen: [Parameter], bn policy: BNPolicy) throws {
        let named = model.namedParameters()
        let frozen: Set<ObjectIdentifier>
        switch freeze {
        case .none: frozen = []
        case .backbone:
            frozen = Set(named.filter { !LayerGroups.isHead($0.name, model) }.map { ObjectIdentifier($0.parameter) })
        case .until(let module):
            // Everything registered before the module's first parameter (state-dict order is the tree's).
            let first = try model.network.requireModule(at: module).parameters.first.map(ObjectIdentifier.init)
            let index = named.firstIndex { ObjectIdentifier($0.parameter) == first } ?? named.count
            frozen = Set(named[..<index].map { ObjectIdentifier($0.parameter) })
        }
        let thawed = Set(unfrozen.map(ObjectIdentifier.init))
        // Auxiliary classifiers (GoogLeNet, Inception v3) never run in Graft's forward: they keep their
        // loaded weights (no gradient would reach them, only weight decay) and stay in the state dict.
        let auxiliary = Set(model.auxiliaryPaths.flatMap { model.network.module(at: $0)?.parameters ?? [] }.map(ObjectIdentifier.init))
        for (_, p) in named where p.kind != .buffer {
            let id = ObjectIdentifier(p)
            p.requiresGrad = !auxiliary.contains(id) && (!frozen.contains(id) || thawed.contains(id))
        }
        for case let norm as BatchNorm2d in model.modules {
            // A BatchNorm belongs to the part its own γ was frozen or left trainable with.
            let partTrains = norm.weight.requiresGrad
            let affine: Bool
            switch (partTrains, policy) {
            case (true, _): norm.useBatchStatistics = true; affine = true
            case (false, .frozen): norm.useBatchStatistics = false; affine = false
            case (false, .trainAffine): norm.useBatchStatistics = true; affine = true
            case (false, .train): norm.useBatchStatistics = true; affine = false
            }
            norm.weight.requiresGrad = affine
            norm.bias.requiresGrad = affine
        }
        model.prepareBackward()
    }

    /// Whether the body can be treated as a fixed feature extractor: the network splits at its pooled
    /// features, and before them nothing trains, no BatchNorm uses batch statistics and no dropout runs.
    public static func bodyIsFixed(_ model: Model) -> Bool {
        guard model.splitsAtFeatures, model.featuresArePooled else { return false }
        let body = model.bodyModules
        let trains = body.contains { m in m.namedStates.contains { if case .parameter(let p) = $0.state { return p.isTrainable } else { return false } } }
        let bnTrains = body.contains { ($0 as? BatchNorm2d)?.useBatchStatistics ?? false }
        let drops = body.contains { ($0 as? Dropout).map { $0.probability > 0 } ?? false }
        return !trains && !bnTrains && !drops
    }
}
