import Foundation
import GraftNN
import GraftTensor

/// `torch.optim.SGD` (single-tensor path): weight decay added to the gradient, momentum buffer
/// `buf = μ·buf + (1 − dampening)·g` (the first step stores g), Nesterov `g + μ·buf`, then
/// `p −= lr · update`.
public final class SGD: Optimizer {
    public let groups: [ParameterGroup]
    public let nesterov: Bool
    public let dampening: Float
    /// Momentum buffers by parameter (internal: checkpoints read and restore them).
    var buffers: [ObjectIdentifier: StateBuffer] = [:]

    public init(groups: [ParameterGroup], nesterov: Bool = false, dampening: Float = 0) {
        self.groups = groups
        self.nesterov = nesterov
        self.dampening = dampening
    }

    public func step() throws {
        for group in groups {
            let lr = group.learningRate, wd = group.weightDecay, mu = group.momentum
            for p in group.parameters where p.requiresGrad && p.grad != nil {
                let id = ObjectIdentifier(p)
                let first = buffers[id] == nil
                let buf = buffers[id] ?? StateBuffer(count: p.value.count)
                buffers[id] = buf
                let damp = 1 - dampening, nesterov = self.nesterov
                p.update { v, g, n in
                    let b = buf.pointer
                    for i in 0..<n {
                        var d = g[i]
                        if wd != 0 { d += wd * v[i] }
                        if mu != 0 {
                            b[i] = first ? d : mu * b[i] + damp * d
                            d = nesterov ? d + mu * b[i] : b[i]
                        }
                        v[i] -= lr * d
                    }
                }
            }
        }
    }
}

/// `torch.optim.AdamW` (single-tensor path): decoupled decay `p ·= 1 − lr·wd`, moments
/// `m = lerp(m, g, 1 − β1)`, `v = β2·v + (1 − β2)·g²`, then
/// `p −= (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)`. The group's `momentum` is β1.
public final class AdamW: Optimizer {
    public let groups: [ParameterGroup]
    public let beta2: Float
    public let eps: Float
    /// Adam moments and step count by parameter (internal: checkpoints read and restore them).
    var moments: [ObjectIdentifier: (m: StateBuffer, v: StateBuffer, step: Int)] = [:]

    public init(groups: [ParameterGroup], beta2: Float = 0.999, eps: Float = 1e-8) {
        self.groups = groups
        self.beta2 = beta2
        self.eps = eps
    }

    public func step() throws {
        for group in groups {
            let lr = group.learningRate, wd = group.weightDecay, b1 = group.momentum, b2 = beta2, eps = self.eps
            for p in group.parameters where p.requiresGrad && p.grad != nil {
                let id = ObjectIdentifier(p)
                var state = moments[id] ?? (StateBuffer(count: p.value.count), StateBuffer(count: p.value.count), 0)
                state.step += 1
                moments[id] = state
                // Bias corrections as torch computes them: Python floats (double), then used in float32 ops.
                let bc1 = 1 - pow(Double(b1), Double(state.step))
                let bc2 = 1 - pow(Double(b2), Double(state.step))
                let stepSize = Float(Double(lr) / bc1)
                let bc2Sqrt = Float(bc2.squareRoot())
                let decay = 1 - lr * wd
                p.update { v, g, n in
                    let m = state.m.pointer, s = state.v.pointer
                    for i in 0..<n {
                        v[i] *= decay
                        m[i] += (1 - b1) * (g[i] - m[i])
                        s[i] = s[i] * b2 + (1 - b2) * g[i] * g[i]
                        let denom = s[i].squareRoot() / bc2Sqrt + eps
                        v[i] += -stepSize * (m[i] / denom)
                    }
                }
            }
        }
    }
}
