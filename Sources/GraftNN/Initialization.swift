import Foundation
import GraftTensor

/// How `Module.initialize` fills a model trained from scratch.
public enum InitScheme: Sendable, Equatable {
    /// PyTorch's own defaults: convolution and linear weights and biases U(±1/√fan_in) (kaiming_uniform
    /// with a = √5), normalization γ = 1, β = 0.
    case torchDefault
    /// The CNN-course and torchvision recipe: convolutions kaiming_normal (fan_out, ReLU gain) with
    /// zero bias, normalization γ = 1, β = 0, linear layers N(0, 0.01) with zero bias.
    case kaiming
}

/// A distribution to fill a tensor from.
public enum Initializer: Sendable, Equatable {
    case zeros
    case ones
    /// U(−bound, bound).
    case uniform(bound: Float)
    /// N(0, std²).
    case normal(std: Float)

    /// torch's default for Conv2d/Linear weights and biases: U(±1/√fan_in).
    public static func torchDefault(fanIn: Int) -> Initializer { .uniform(bound: 1 / Float(max(fanIn, 1)).squareRoot()) }
    /// kaiming_normal_(mode="fan_out", nonlinearity="relu"): N(0, 2/fan_out).
    public static func kaimingFanOut(_ fanOut: Int) -> Initializer { .normal(std: (2 / Float(max(fanOut, 1))).squareRoot()) }

    /// Overwrites `p` with values drawn from this distribution.
    public func fill(_ p: Parameter, _ rng: inout SeededGenerator) {
        let shape = p.value.shape
        let n = p.value.count
        var values = [Float](repeating: 0, count: n)
        switch self {
        case .zeros: break
        case .ones: values = [Float](repeating: 1, count: n)
        case .uniform(let bound):
            for i in 0..<n { values[i] = (rng.nextUnitFloat() * 2 - 1) * bound }
        case .normal(let std):
            // Box–Muller, two values per pair of uniforms.
            var i = 0
            while i < n {
                let u1 = max(Double(rng.nextUnitFloat()), 1e-12), u2 = Double(rng.nextUnitFloat())
                let r = (-2 * log(u1)).squareRoot()
                values[i] = Float(r * cos(2 * .pi * u2)) * std
                if i + 1 < n { values[i + 1] = Float(r * sin(2 * .pi * u2)) * std }
                i += 2
            }
        }
        if let t = try? Tensor(shape: shape, values: values) { p.value = t }
    }
}
