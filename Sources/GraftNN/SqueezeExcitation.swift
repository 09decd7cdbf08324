import GraftTensor

/// torchvision's `SqueezeExcitation`: global average → `fc1` (1×1 conv) → activation → `fc2` (1×1
/// conv) → `scale_activation` → channel scale of the input. Children and keys as torchvision's
/// (`avgpool`, `fc1`, `fc2`, `activation`, `scale_activation`).
public final class SqueezeExcitation: Module {
    public let avgpool = AdaptiveAvgPool2d(1)
    public let fc1: Conv2d
    public let fc2: Conv2d
    public let activation: ActivationModule
    public let scaleActivation: ActivationModule
    private var saved: (x: Tensor, scale: Tensor)?

    public init(inputChannels: Int, squeezeChannels: Int, activation: ActivationModule = ReLU(),
                scaleActivation: ActivationModule = Sigmoid()) {
        fc1 = Conv2d(inputChannels, squeezeChannels, kernelSize: 1)
        fc2 = Conv2d(squeezeChannels, inputChannels, kernelSize: 1)
        self.activation = activation
        self.scaleActivation = scaleActivation
    }

    public override var namedChildren: [(name: String, module: Module)] {
        [("avgpool", avgpool), ("fc1", fc1), ("fc2", fc2), ("activation", activation), ("scale_activation", scaleActivation)]
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let pooled = try avgpool(x)
        let s: Tensor
        if fc1.fusable && fc2.fusable && activation.fusable && scaleActivation.fusable {
            s = try fc2.fused(try fc1.fused(pooled, norm: nil, activation: activation.kind), norm: nil, activation: scaleActivation.kind)
        } else {
            s = try scaleActivation(try fc2(try activation(try fc1(pooled))))
        }
        saved = recordsForBackward ? (x, s) : nil
        return try channelScale(x, s)
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let s = saved else { throw NNError.noRecordedForward("SqueezeExcitation") }
        saved = nil
        // Destructured, so dx is the only reference to its buffer and the sum below reuses it.
        var (dx, dScale) = try channelScaleBackward(x: s.x, scale: s.scale, gradOutput: gradOutput)
        if let d1 = try scaleActivation.backward(dScale), let d2 = try fc2.backward(d1),
           let d3 = try activation.backward(d2), let d4 = try fc1.backward(d3),
           let dPool = try avgpool.backward(d4) {
            try addInPlace(&dx, dPool)
        }
        return needsInputGradient ? dx : nil
    }

    public override func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        // The squeeze path's gradient flows back into x, so its modules need input gradients
        // whenever anything before the block trains.
        let trainable = trainableBefore || hasTrainableParameters
        recordsForBackward = trainable
        for (_, m) in namedChildren {
            m.recordsForBackward = trainable
            m.needsInputGradient = trainable
        }
        fc1.needsInputGradient = trainableBefore
        avgpool.needsInputGradient = trainableBefore
        return trainable
    }
}
