import GraftNN
import GraftTensor

/// Builds layers from a `VarBuilder`, registering parameters in torch's state-dict order (a
/// convolution's weight then bias; a BatchNorm's weight, bias, running_mean, running_var,
/// num_batches_tracked) with the shapes torch gives them.
enum LayerFactory {
    struct Conv {
        var inChannels: Int
        var outChannels: Int
        var kernel: Int
        var stride = 1
        /// Symmetric padding; ignored when `tfSame`.
        var padding = 0
        var dilation = 1
        var groups = 1
        var bias = false
        var tfSame = false
    }

    /// torch Conv2d under `conv`, optional BatchNorm2d under `norm`, and an activation.
    static func convNormAct(_ conv: VarBuilder, norm: VarBuilder?, _ spec: Conv, activation: Activation,
                            eps: Float, momentum: Float = 0.1, weightInit: Initializer? = nil) -> ConvNormActivation {
        let k = spec.kernel
        let fanIn = spec.inChannels / spec.groups * k * k
        let fanOut = spec.outChannels / spec.groups * k * k
        let weight = conv.parameter([spec.outChannels, spec.inChannels / spec.groups, k, k], "weight", kind: .weight,
                                    initializer: weightInit ?? .kaimingFanOut(fanOut))
        let bias = spec.bias
            ? conv.parameter([spec.outChannels], "bias", kind: .bias, initializer: .torchDefault(fanIn: fanIn)) : nil
        let bn = norm.map { batchNorm($0, channels: spec.outChannels, eps: eps, momentum: momentum) }
        let params = Conv2dParams(stride: spec.stride, padding: spec.padding, dilation: spec.dilation, groups: spec.groups)
        return ConvNormActivation(weight: weight, bias: bias, norm: bn, params: params, activation: activation,
                                  tfSamePadding: spec.tfSame)
    }

    static func batchNorm(_ vb: VarBuilder, channels: Int, eps: Float, momentum: Float = 0.1) -> BatchNorm {
        BatchNorm(
            weight: vb.parameter([channels], "weight", kind: .normAffine, initializer: .ones),
            bias: vb.parameter([channels], "bias", kind: .normAffine, initializer: .zeros),
            runningMean: vb.parameter([channels], "running_mean", kind: .buffer, initializer: .zeros),
            runningVar: vb.parameter([channels], "running_var", kind: .buffer, initializer: .ones),
            batchesTracked: vb.counter("num_batches_tracked"), eps: eps, momentum: momentum)
    }

    /// torch Linear, weight `[out, in]`; torch's default init unless given.
    static func linear(_ vb: VarBuilder, inFeatures: Int, outFeatures: Int, bias: Bool = true,
                       weightInit: Initializer? = nil, biasInit: Initializer? = nil, activation: Activation = .none) -> Linear {
        let w = vb.parameter([outFeatures, inFeatures], "weight", kind: .weight,
                             initializer: weightInit ?? .torchDefault(fanIn: inFeatures))
        let b = bias ? vb.parameter([outFeatures], "bias", kind: .bias,
                                    initializer: biasInit ?? .torchDefault(fanIn: inFeatures)) : nil
        return Linear(weight: w, bias: b, activation: activation)
    }
}
