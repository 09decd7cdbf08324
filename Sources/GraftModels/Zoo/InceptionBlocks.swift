// Pieces GoogLeNet and Inception v3 share (torchvision/models/googlenet.py and inception.py each define
// the same BasicConv2d and `_transform_input`).

import GraftNN
import GraftTensor

/// torchvision's `BasicConv2d`: children `conv` (Conv2d without bias) and `bn` (BatchNorm2d, eps 0.001);
/// the ReLU is a function call in torchvision, not a module, so it has no path here either. At inference
/// the three run as one convolution with the BatchNorm folded and the ReLU in its epilogue.
public final class BasicConv2d: Module {
    public let conv: Conv2d
    public let bn: BatchNorm2d
    private var savedOutput: Tensor?

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: (h: Int, w: Int), stride: Int = 1,
                padding: (h: Int, w: Int) = (0, 0), eps: Float = 0.001) {
        conv = Conv2d(inChannels, outChannels, kernelSize: kernelSize, stride: (stride, stride),
                      padding: .explicit(h: padding.h, w: padding.w), bias: false)
        bn = BatchNorm2d(outChannels, eps: eps)
    }

    /// Square kernel, symmetric padding.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            eps: Float = 0.001) {
        self.init(inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: stride,
                  padding: (padding, padding), eps: eps)
    }

    public override var namedChildren: [(name: String, module: Module)] { [("conv", conv), ("bn", bn)] }

    public override func forward(_ x: Tensor) throws -> Tensor {
        if conv.fusable && bn.fusable && !bn.normalizesWithBatch {
            savedOutput = nil
            return try conv.fused(x, norm: bn, activation: .relu)
        }
        var y = try bn(try conv(x))
        activateInPlace(&y, .relu)
        savedOutput = recordsForBackward ? y : nil
        return y
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        guard let y = savedOutput else { throw NNError.noRecordedForward("BasicConv2d") }
        savedOutput = nil
        guard bn.recordsForBackward else { return nil }
        let dz = try activationBackward(.relu, gradOutput: gradOutput, output: y)
        guard let dc = try bn.backward(dz), conv.recordsForBackward else { return nil }
        return try conv.backward(dc)
    }
}

/// torchvision's `_transform_input` of GoogLeNet and Inception v3: input normalized with ImageNet's
/// mean/std becomes input normalized with mean 0.5 / std 0.5, as the weights ported from TensorFlow
/// expect: `x_c · (std_c / 0.5) + (mean_c − 0.5) / 0.5`, per channel, inside the model. Not a module
/// in torchvision (no path, no state), so not one here.
struct InputTransform {
    /// The per-channel factors in float32, as torch rounds its Python-float scalars.
    let scale: Tensor
    let shift: Tensor

    init() {
        let mean: [Double] = [0.485, 0.456, 0.406], std: [Double] = [0.229, 0.224, 0.225]
        scale = try! Tensor(shape: [3], values: std.map { Float($0 / 0.5) })
        shift = try! Tensor(shape: [3], values: mean.map { Float(($0 - 0.5) / 0.5) })
    }

    func forward(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == 3 else {
            throw NNError.badArgument("transform_input needs an [N, 3, H, W] input, got \(x.shape)")
        }
        return try batchNormInference(x, scale: scale, shift: shift)
    }

    /// ∂L/∂x = ∂L/∂y · scale_c.
    func backward(_ g: Tensor) throws -> Tensor {
        try batchNormInference(g, scale: scale, shift: try Tensor(shape: [3]))
    }
}

/// Runs `modules` one after another, as the trunk of GoogLeNet or Inception v3 does (not a container:
/// the modules are the network's own children).
enum Chain {
    static func forward(_ modules: [Module], _ x: Tensor) throws -> Tensor {
        var h = x
        for m in modules { h = try m(h) }
        return h
    }

    /// Backward in reverse; nil as soon as a module recorded nothing or returns no input gradient.
    static func backward(_ modules: [Module], _ g: Tensor) throws -> Tensor? {
        var d = g
        for m in modules.reversed() {
            guard m.recordsForBackward, let next = try m.backward(d) else { return nil }
            d = next
        }
        return d
    }

    /// `prepareBackward` for modules that run one after another; returns whether any parameter up to the
    /// last one trains.
    static func prepare(_ modules: [Module], trainableBefore: Bool) -> Bool {
        var before = trainableBefore
        for m in modules { before = m.prepareBackward(trainableBefore: before) }
        return before
    }

    /// Marks a subtree the forward never runs (the auxiliary heads): nothing recorded, no gradients asked.
    static func exclude(_ module: Module) {
        for (_, m) in module.namedModules() {
            m.recordsForBackward = false
            m.needsInputGradient = false
        }
    }
}
