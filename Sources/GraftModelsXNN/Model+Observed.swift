import GraftModels
import GraftNN
import GraftTensor

extension Model {
    /// The evaluation-mode output at one module path, or at `pooledFeaturesPath` the pooled features the
    /// classifier reads (`graft features`). The pooled features of a network that computes them as a
    /// whole (not a module of its own, and pooled) run on `engine` — untimed, so the same input always
    /// takes the same kernels; any other path is recorded from a forward on Graft's kernels.
    public func observed(_ x: Tensor, at path: String, engine: InferenceEngineChoice) throws -> Tensor {
        if path == Self.pooledFeaturesPath, featuresArePooled, network.module(at: path) == nil {
            return try InferenceRunner(model: self, engine: engine, output: .features, timed: false).features(x)
        }
        guard let out = try intermediates(x, at: [path])[path] else {
            throw NNError.badArgument("\(path) produced no output in the forward pass")
        }
        return out
    }
}
