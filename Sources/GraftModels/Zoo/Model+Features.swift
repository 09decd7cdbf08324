import GraftNN
import GraftTensor

extension Model {
    /// The path that names the pooled, flattened embedding the classifier sees.
    public static let pooledFeaturesPath = "pool"

    /// Outputs at module paths of the network — or, for `pool`, the pooled features before the
    /// classifier — from one evaluation-mode forward (timm's `forward_intermediates`, torchvision's
    /// feature extractor).
    public func intermediates(_ x: Tensor, at paths: [String]) throws -> [String: Tensor] {
        let modulePaths = paths.filter { $0 != Self.pooledFeaturesPath || network.module(at: $0) != nil }
        var out = try modulePaths.isEmpty ? [:] : network.intermediates(x, at: modulePaths)
        if modulePaths.count < paths.count { out[Self.pooledFeaturesPath] = try features(x) }
        return out
    }
}
