import GraftNN
import GraftTensor

/// A Grad-CAM map (Selvaraju et al. 2017, https://arxiv.org/abs/1610.02391) of one image: which
/// positions of a feature map raised the score of a class.
public struct GradCAM: Sendable, Equatable {
    /// The module whose output the map explains.
    public let layer: String
    public let classIndex: Int
    /// The class's logit and softmax probability for this image.
    public let logit: Float
    public let probability: Float
    /// Feature-map height and width; `map` is `height × width`, row after row.
    public let height: Int
    public let width: Int
    /// ReLU(Σ_c α_c · A_c) with α_c the spatial mean of ∂logit/∂A_c, divided by its maximum (all
    /// zeros when no position raised the score).
    public let map: [Float]
}

extension Model {
    /// Grad-CAM of `image` (`[1, 3, H, W]`, preprocessed) for `classIndex` (the top class when nil) at
    /// the module `layer` (the last feature map before global pooling when nil, as `summary` finds it).
    ///
    /// Runs in evaluation mode (running statistics, no dropout) with every module recording, whatever
    /// is frozen; the parameters' gradients are left as they were.
    public func gradCAM(_ image: Tensor, classIndex: Int? = nil, layer: String? = nil) throws -> GradCAM {
        guard image.rank == 4, image.shape[0] == 1 else {
            throw NNError.badArgument("Grad-CAM takes one image [1, 3, H, W], got \(image.shape)")
        }
        let path = try layer ?? defaultGradCAMLayer(image)
        guard let target = network.module(at: path) else {
            throw NNError.badArgument("\(arch) has no module '\(path)' (graft summary lists them)")
        }
        var activations: [Tensor] = [], gradients: [Tensor] = []
        let grads = parameters.map(\.grad)
        // The caller's own observers keep running, and are back in place afterwards.
        let (previousOutput, previousGradient) = (target.outputObserver, target.gradientObserver)
        defer {
            target.outputObserver = previousOutput
            target.gradientObserver = previousGradient
            for (p, g) in zip(parameters, grads) { p.grad = g }
            prepareInference()
        }
        target.outputObserver = { previousOutput?($0); activations.append($0) }
        target.gradientObserver = { previousGradient?($0); gradients.append($0) }
        setTraining(false)
        _ = network.prepareBackward(trainableBefore: true)

        let logits = try forward(image)
        let scores = logits.values
        let chosen = classIndex ?? TopK.indices(scores, k: 1)[0]
        guard scores.indices.contains(chosen) else {
            throw NNError.badArgument("class \(chosen) is outside the \(scores.count) classes of \(arch)")
        }
        var oneHot = [Float](repeating: 0, count: scores.count)
        oneHot[chosen] = 1
        try backwardThroughBody(try Tensor(shape: logits.shape, values: oneHot))

        guard activations.count == 1, gradients.count == 1, let a = activations.first, let g = gradients.first,
              a.rank == 4, g.shape == a.shape else {
            throw NNError.badArgument("'\(path)' cannot be explained: Grad-CAM needs a module that runs once per forward, "
                                      + "gives an [N, C, H, W] map and lies on the path backward takes "
                                      + "(it ran \(activations.count)×, backward reached it \(gradients.count)×)")
        }
        let (c, h, w) = (a.shape[1], a.shape[2], a.shape[3])
        let map = Self.camMap(activations: a.values, gradients: g.values, channels: c, positions: h * w)
        return GradCAM(layer: path, classIndex: chosen, logit: scores[chosen],
                       probability: try softmax(logits).values[chosen], height: h, width: w, map: map)
    }

    /// The module that makes the last spatial feature map before global pooling.
    public func defaultGradCAMLayer(_ image: Tensor) throws -> String {
        guard let path = try network.summary(image).featureMapPath else {
            throw NNError.badArgument("\(arch) has no spatial feature map before its pooling; give a layer")
        }
        return path
    }

    /// Backward from ∂score/∂logits through the head and the whole body, frozen or not.
    private func backwardThroughBody(_ gradLogits: Tensor) throws {
        guard let split else { _ = try network.backward(gradLogits); return }
        guard let g = try split.backwardHead(gradLogits) else { return }
        _ = try split.backwardFeatures(g)
    }

    /// α_c = mean over positions of ∂y/∂A_c; map = ReLU(Σ_c α_c A_c) / max.
    static func camMap(activations a: [Float], gradients g: [Float], channels: Int, positions: Int) -> [Float] {
        var map = [Float](repeating: 0, count: positions)
        for ch in 0..<channels {
            let base = ch * positions
            var alpha: Float = 0
            for i in 0..<positions { alpha += g[base + i] }
            alpha /= Float(positions)
            for i in 0..<positions { map[i] += alpha * a[base + i] }
        }
        let peak = map.reduce(0) { max($0, $1) }
        return map.map { peak > 0 ? max($0, 0) / peak : 0 }
    }
}
