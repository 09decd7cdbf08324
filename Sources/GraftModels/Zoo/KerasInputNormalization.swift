import Foundation
import GraftNN
import GraftTensor

/// Keras EfficientNet's in-graph preprocessing: `Rescaling(1/255)` then `Normalization`
/// (`(x − mean) / max(√variance, 1e-7)`) with the stored mean and variance, in Keras' order of float32
/// operations. Keras' ImageNet weights store the std where the variance belongs and Keras then adds
/// `Rescaling(1/√std)` (tensorflow#49930): when the stored variance is that std, the same correction
/// is applied here, so the result is `(x/255 − mean)/std` either way.
public final class KerasInputNormalization: Module {
    public let mean: Parameter
    public let variance: Parameter
    public let count: Parameter
    static let imagenetStd: [Float] = [0.229, 0.224, 0.225]

    public override init() {
        mean = Parameter(kind: .buffer, shape: [3])
        variance = Parameter(kind: .buffer, shape: [3], fill: 1)
        count = Parameter(kind: .buffer, shape: [])
    }

    public override var namedStates: [(name: String, state: StateEntry)] {
        [("mean", .parameter(mean)), ("variance", .parameter(variance)), ("count", .parameter(count))]
    }

    /// The stored "variance" is ImageNet's std: Keras' ImageNet weights, which need the extra rescale.
    public var appliesImagenetCorrection: Bool {
        zip(variance.value.values, Self.imagenetStd).allSatisfy { abs($0 - $1) < 1e-6 }
    }

    /// The per-channel divisor: `max(√variance, 1e-7)`, as Keras guards it.
    public var std: [Float] { variance.value.values.map { max($0.squareRoot(), 1e-7) } }

    /// The per-channel factor after the division: `1/√std` when the correction applies, else 1.
    public var stdCorrection: [Float] { appliesImagenetCorrection ? Self.imagenetStd.map { 1 / $0.squareRoot() } : [1, 1, 1] }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let m = mean.value.values, sd = std
        let correction = stdCorrection
        let n = x.shape[0], plane = x.count / max(n * 3, 1)
        var out = x
        out.withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                for c in 0..<3 {
                    let base = (i * 3 + c) * plane
                    for j in 0..<plane { p[base + j] = (p[base + j] * (1 / 255) - m[c]) / sd[c] * correction[c] }
                }
            }
        }
        return out
    }

    /// The input is the image: nothing before this layer needs a gradient.
    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? { nil }
}
