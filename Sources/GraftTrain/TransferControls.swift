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
public enum LearningRateSpec: Equatable, Sendable {
    case single(Double)
    case range(Double, Double)

    public init?(parsing text: String) {
        let parts = text.split(separator: ":")
        if parts.count == 1, let v = Double(parts[0]), v > 0 { self = .single(v); return }
        if parts.count == 2, let lo = Double(parts[0]), let hi = Double(parts[1]), lo > 0, hi >= lo { self = .range(lo, hi); return }
        return nil
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
    /// and decides what the layers record for backward.
    public static func apply(_ model: Model, freeze: FreezeSpec, unfrozen: [Parameter], bn policy: BNPolicy) {
        let params = model.parameters
        let frozen: Set<ObjectIdentifier>
        switch freeze {
        case .none: frozen = []
        case .backbone:
            frozen = Set(params.filter { !LayerGroups.isHead($0.name, model) }.map(ObjectIdentifier.init))
        case .until(let module):
            let first = params.firstIndex { $0.name == module || $0.name.hasPrefix(module + ".") } ?? params.count
            frozen = Set(params[..<first].map(ObjectIdentifier.init))
        }
        let thawed = Set(unfrozen.map(ObjectIdentifier.init))
        for p in params where p.kind != .buffer {
            let id = ObjectIdentifier(p)
            p.requiresGrad = !frozen.contains(id) || thawed.contains(id)
        }
        for layer in model.layers.flatMap(\.allLayers) {
            guard let conv = layer as? ConvNormActivation, let norm = conv.norm else { continue }
            let partTrains = conv.weight.requiresGrad
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

    /// Whether the body can be treated as a fixed feature extractor (all frozen, running statistics).
    public static func bodyIsFixed(_ model: Model) -> Bool {
        let bodyParams = model.body.parameters.filter { $0.kind != .buffer }
        let bnTrains = model.body.allLayers.contains {
            guard let c = $0 as? ConvNormActivation, let n = c.norm else { return false }
            return n.useBatchStatistics
        }
        return !bodyParams.contains { $0.requiresGrad } && !bnTrains && !model.body.allLayers.contains { $0 is Dropout }
    }
}
