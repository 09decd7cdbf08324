import GraftCore
import GraftNN
import GraftTensor

/// A built network: a body (everything up to the pooled features), the classifier head, its state in
/// torch's state-dict order, and the facts fine-tuning needs.
///
/// Splitting at the pooled features is what makes feature caching possible: with a frozen body the
/// features of an image never change, so a head can be trained on cached `[N, F]` rows.
public final class Model {
    public enum Family: String, Sendable, Codable { case resnet, vgg, efficientnet, kerasResNet, kerasVGG, kerasEfficientNet }

    public let arch: String
    public let family: Family
    public let body: Sequential
    /// Dropout right before the classifier (EfficientNet's classifier.0, or one added for fine-tuning).
    public private(set) var headDropout: Dropout?
    public private(set) var classifier: Linear
    /// The classifier's module path (`fc`, `classifier.1`, `classifier.6`, `predictions`).
    public let classifierPrefix: String
    /// Every parameter, buffer and counter in state-dict order.
    public private(set) var state: [StateEntry]
    /// The dropout/stochastic-depth random stream.
    public let random: RandomSource

    init(arch: String, family: Family, body: Sequential, headDropout: Dropout?, classifier: Linear,
         classifierPrefix: String, state: [StateEntry], random: RandomSource) {
        self.arch = arch
        self.family = family
        self.body = body
        self.headDropout = headDropout
        self.classifier = classifier
        self.classifierPrefix = classifierPrefix
        self.state = state
        self.random = random
    }

    public var parameters: [Parameter] {
        state.compactMap { if case .parameter(let p) = $0 { return p } else { return nil } }
    }

    public var numClasses: Int { classifier.outFeatures }
    public var featureCount: Int { classifier.inFeatures }

    /// All layers: body, dropout, classifier.
    public var layers: [Layer] { [body] + (headDropout.map { [$0] } ?? []) + [classifier] }

    public func setTraining(_ training: Bool) { for l in layers { l.setTraining(training) } }

    /// Training mode, recording what backward needs given which parameters are trainable now.
    public func prepareTraining() {
        setTraining(true)
        prepareBackward()
    }

    /// Decides what every layer records for backward from which parameters are trainable now.
    public func prepareBackward() {
        var before = false
        for l in layers { before = l.prepareBackward(trainableBefore: before) }
    }

    /// Evaluation-mode logits for an NCHW batch.
    public func logits(_ x: Tensor) throws -> Tensor {
        prepareInference()
        return try forward(x)
    }

    /// The pooled features `[N, F]` the classifier sees (evaluation mode).
    public func features(_ x: Tensor) throws -> Tensor {
        prepareInference()
        return try body.forward(x)
    }

    /// Evaluation mode with nothing recorded for backward, so every convolution runs its fused
    /// inference kernel (BatchNorm folded, activation and residual in the epilogue).
    public func prepareInference() {
        setTraining(false)
        for layer in layers.flatMap(\.allLayers) {
            layer.recordsForBackward = false
            layer.needsInputGradient = false
        }
    }

    /// Forward in the current mode.
    public func forward(_ x: Tensor) throws -> Tensor {
        try head(try body.forward(x))
    }

    /// Dropout + classifier on pooled features.
    public func head(_ features: Tensor) throws -> Tensor {
        var h = features
        if let d = headDropout { h = try d.forward(h) }
        return try classifier.forward(h)
    }

    /// Backward from ∂L/∂logits through the head and (when anything there trains) the body.
    public func backward(_ gradLogits: Tensor) throws {
        guard var g = try classifier.backward(gradLogits) else { return }
        if let d = headDropout, let gd = try d.backward(g) { g = gd }
        if body.recordsForBackward { _ = try body.backward(g) }
    }

    /// The state dict: float32 parameters and buffers, int64 counters, in torch's order.
    public func stateDict() -> [(name: String, tensor: RawTensor)] {
        state.map { entry in
            switch entry {
            case .parameter(let p):
                let values = p.value.values
                let buffer = ByteBuffer(uninitializedCount: values.count * 4)
                values.withUnsafeBytes { if let base = $0.baseAddress { buffer.mutableBase.copyMemory(from: base, byteCount: $0.count) } }
                // The byte count equals the shape's by construction.
                return (p.name, try! RawTensor(dtype: .float32, shape: p.value.shape, data: buffer))
            case .counter(let c):
                var v = c.value.littleEndian
                return (c.name, try! RawTensor(dtype: .int64, shape: [], data: withUnsafeBytes(of: &v) { ByteBuffer(copying: $0) }))
            }
        }
    }

    /// Puts (or replaces) a dropout before the classifier; it has no parameters, so the state dict is
    /// unchanged.
    public func setHeadDropout(_ dropout: Dropout?) { headDropout = dropout }

    /// Replaces the classifier (fine-tuning's new head); its parameters take the old one's place in
    /// the state dict.
    public func replaceClassifier(_ linear: Linear) {
        let oldNames = Set(classifier.parameters.map(\.name))
        let index = state.firstIndex { oldNames.contains($0.name) } ?? state.count
        state.removeAll { oldNames.contains($0.name) }
        state.insert(contentsOf: linear.parameters.map { .parameter($0) }, at: min(index, state.count))
        classifier = linear
    }
}
