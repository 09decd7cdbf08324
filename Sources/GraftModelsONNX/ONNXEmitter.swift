import Foundation
import GraftModels
import GraftNN
import GraftONNX
import GraftTensor

/// A value of the graph being built: its name and its shape without the batch dimension (the
/// spatial size is fixed at export, the batch is the one symbolic axis). Knowing the shapes here is
/// what lets TF-"same" padding, adaptive pooling and flattening become static operators.
public struct ONNXValue: Equatable, Sendable {
    public let name: String
    public let shape: [Int]

    public var channels: Int { shape[0] }
    public var height: Int { shape[1] }
    public var width: Int { shape[2] }
}

/// A module that knows its ONNX operators: given its input, it emits nodes and returns its output.
/// Implemented per module type beside each group (GraftNN's layers, then each zoo family).
public protocol ONNXEmittable {
    func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue
}

/// The state of one export: the graph, the folding choice and every tensor's state-dict key, so
/// initializers are named as the checkpoint names them (`layer1.0.conv1.weight`).
public final class ONNXEmitter {
    public let graph: ONNXGraphBuilder
    public let keepBatchNorm: Bool
    private let keys: [ObjectIdentifier: String]
    private var constants: [String: String] = [:]

    init(graph: ONNXGraphBuilder, network: Module, keepBatchNorm: Bool) {
        self.graph = graph
        self.keepBatchNorm = keepBatchNorm
        var keys: [ObjectIdentifier: String] = [:]
        for (name, entry) in network.namedStateEntries() {
            if case .parameter(let p) = entry { keys[ObjectIdentifier(p)] = name }
        }
        self.keys = keys
    }

    /// Any module: its own emitter, or an error naming its type.
    public func emit(_ module: Module, _ x: ONNXValue) throws -> ONNXValue {
        guard let emittable = module as? ONNXEmittable else { throw ONNXExportError.unsupportedModule(module.typeName) }
        return try emittable.emitONNX(x, self)
    }

    /// Modules run one after another, as `Sequential` runs them: a BatchNorm2d right after a
    /// Conv2d is folded into it unless BatchNorm is kept.
    public func emitChain(_ layers: [Module], _ x: ONNXValue) throws -> ONNXValue {
        var h = x
        var i = 0
        while i < layers.count {
            if let conv = layers[i] as? Conv2d, i + 1 < layers.count, let norm = layers[i + 1] as? BatchNorm2d {
                h = try self.conv(conv, norm: norm, h)
                i += 2
            } else {
                h = try emit(layers[i], h)
                i += 1
            }
        }
        return h
    }

    // MARK: - Tensors

    /// An initializer holding a parameter's current value, named by its state-dict key.
    public func initializer(_ p: Parameter, fallback: String) -> String {
        initializer(keys[ObjectIdentifier(p)] ?? fallback, p.value)
    }

    public func initializer(_ name: String, _ t: Tensor) -> String {
        graph.addInitializer(name, shape: t.shape, values: t.values)
    }

    /// A float scalar or small constant; one initializer per distinct name and value (ReLU6's
    /// bounds are shared by every ReLU6 of the graph).
    public func constant(_ name: String, _ values: [Float], shape: [Int]? = nil) -> String {
        let key = "\(name) \(shape ?? []) \(values.map(\.bitPattern))"
        if let known = constants[key] { return known }
        let made = graph.addInitializer(name, shape: shape ?? [], values: values)
        constants[key] = made
        return made
    }

    public func key(_ p: Parameter) -> String? { keys[ObjectIdentifier(p)] }

    /// One node with one output of the given shape.
    public func node(_ op: String, _ inputs: [String], shape: [Int], name: String? = nil,
                     _ attributes: [(String, ONNXAttribute)] = []) -> ONNXValue {
        let out = graph.addNode(op, inputs: inputs, output: name ?? op.lowercased(), attributes: attributes)
        return ONNXValue(name: out, shape: shape)
    }

    // MARK: - Layers

    /// A convolution, with `norm` folded into its weight and bias (or kept as a BatchNormalization
    /// node after it when the export keeps BatchNorm).
    public func conv(_ c: Conv2d, norm: BatchNorm2d?, _ x: ONNXValue) throws -> ONNXValue {
        let base = key(c.weight).map { String($0.dropLast(".weight".count)) } ?? "conv"
        let weight: String, bias: String?
        if let norm, !keepBatchNorm {
            let folded = try foldBatchNorm(convWeight: c.weight.value, convBias: c.bias?.value, gamma: norm.weight.value,
                                           beta: norm.bias.value, runningMean: norm.runningMean.value,
                                           runningVar: norm.runningVar.value, eps: norm.eps)
            weight = initializer(base + ".weight_folded", folded.weight)
            bias = initializer(base + ".bias_folded", folded.bias)
        } else {
            weight = initializer(c.weight, fallback: base + ".weight")
            bias = c.bias.map { initializer($0, fallback: base + ".bias") }
        }
        let p = geometry(c, x)
        let spanH = x.height + p.padTop + p.padBottom - c.dilation.h * (c.kernelSize.h - 1) - 1
        let spanW = x.width + p.padLeft + p.padRight - c.dilation.w * (c.kernelSize.w - 1) - 1
        let (outH, outW) = (spanH / c.stride.h + 1, spanW / c.stride.w + 1)
        guard x.channels == c.inChannels, spanH >= 0, spanW >= 0 else {
            throw ONNXExportError.shapeMismatch("\(base): a \(c.inChannels)-channel convolution given \(x.shape)")
        }
        let y = node("Conv", [x.name, weight] + (bias.map { [$0] } ?? []), shape: [c.outChannels, outH, outW], name: base, [
            ("kernel_shape", .ints([c.kernelSize.h, c.kernelSize.w])), ("strides", .ints([c.stride.h, c.stride.w])),
            ("pads", .ints([p.padTop, p.padLeft, p.padBottom, p.padRight])),
            ("dilations", .ints([c.dilation.h, c.dilation.w])), ("group", .int(c.groups)),
        ])
        guard let norm, keepBatchNorm else { return y }
        return batchNorm(norm, y)
    }

    /// The padding the convolution uses at this input size (TF "same" depends on it).
    private func geometry(_ c: Conv2d, _ x: ONNXValue) -> Conv2dParams {
        if c.padding == .tfSame {
            return Conv2dParams.same(inputH: x.height, inputW: x.width, kernelH: c.kernelSize.h, kernelW: c.kernelSize.w,
                                     stride: c.stride, dilation: c.dilation, groups: c.groups)
        }
        // The other paddings do not depend on the values, only on the rank.
        return c.geometry(for: Tensor.placeholder4D)
    }

    public func batchNorm(_ bn: BatchNorm2d, _ x: ONNXValue) -> ONNXValue {
        let base = key(bn.weight).map { String($0.dropLast(".weight".count)) } ?? "bn"
        let inputs = [x.name, initializer(bn.weight, fallback: base + ".weight"), initializer(bn.bias, fallback: base + ".bias"),
                      initializer(bn.runningMean, fallback: base + ".running_mean"),
                      initializer(bn.runningVar, fallback: base + ".running_var")]
        return node("BatchNormalization", inputs, shape: x.shape, name: base, [("epsilon", .float(bn.eps))])
    }

    /// `x · Wᵀ + b` on `[N, F]` rows.
    public func linear(_ l: Linear, _ x: ONNXValue) throws -> ONNXValue {
        guard x.shape == [l.inFeatures] else {
            throw ONNXExportError.shapeMismatch("a Linear of \(l.inFeatures) features given \(x.shape)")
        }
        let base = key(l.weight).map { String($0.dropLast(".weight".count)) } ?? "linear"
        var inputs = [x.name, initializer(l.weight, fallback: base + ".weight")]
        if let b = l.bias { inputs.append(initializer(b, fallback: base + ".bias")) }
        return node("Gemm", inputs, shape: [l.outFeatures], name: base, [("transB", .int(1))])
    }

    public func activation(_ kind: Activation, _ x: ONNXValue) -> ONNXValue {
        switch kind {
        case .none: return x
        case .relu: return node("Relu", [x.name], shape: x.shape)
        case .sigmoid: return node("Sigmoid", [x.name], shape: x.shape)
        case .hardswish: return node("HardSwish", [x.name], shape: x.shape)
        // torch: relu6(x + 3) / 6.
        case .hardsigmoid: return node("HardSigmoid", [x.name], shape: x.shape, [("alpha", .float(1.0 / 6)), ("beta", .float(0.5))])
        case .relu6: return node("Clip", [x.name, constant("zero", [0]), constant("six", [6])], shape: x.shape)
        case .silu: return mul(x, node("Sigmoid", [x.name], shape: x.shape))
        case .gelu:
            // The exact (erf) GELU, torch's default: opset 17 has no Gelu operator.
            let scaled = node("Div", [x.name, constant("sqrt2", [Float(2).squareRoot()])], shape: x.shape)
            let erf = node("Erf", [scaled.name], shape: x.shape)
            let onePlus = node("Add", [erf.name, constant("one", [1])], shape: x.shape)
            let half = node("Mul", [x.name, constant("half", [0.5])], shape: x.shape)
            return mul(half, onePlus)
        }
    }

    public func add(_ a: ONNXValue, _ b: ONNXValue) throws -> ONNXValue {
        guard a.shape == b.shape else { throw ONNXExportError.shapeMismatch("adding \(a.shape) and \(b.shape)") }
        return node("Add", [a.name, b.name], shape: a.shape)
    }

    /// Elementwise product; `b` may broadcast (a per-channel scale `[C, 1, 1]`).
    public func mul(_ a: ONNXValue, _ b: ONNXValue) -> ONNXValue { node("Mul", [a.name, b.name], shape: a.shape) }

    public func concat(_ parts: [ONNXValue]) throws -> ONNXValue {
        guard let first = parts.first, parts.allSatisfy({ $0.shape.dropFirst() == first.shape.dropFirst() }) else {
            throw ONNXExportError.shapeMismatch("concatenating \(parts.map(\.shape))")
        }
        if parts.count == 1 { return first }
        let c = parts.reduce(0) { $0 + $1.channels }
        return node("Concat", parts.map(\.name), shape: [c] + first.shape.dropFirst(), [("axis", .int(1))])
    }

    /// `[N, C, H, W] → [N, C·H·W]`.
    public func flatten(_ x: ONNXValue) -> ONNXValue {
        x.shape.count == 1 ? x : node("Flatten", [x.name], shape: [x.shape.reduce(1, *)], [("axis", .int(1))])
    }

    /// `[N, C, …]` reshaped, the batch kept (`0` copies it).
    public func reshape(_ x: ONNXValue, _ shape: [Int]) -> ONNXValue {
        node("Reshape", [x.name, graph.addInt64Initializer("shape", values: [0] + shape)], shape: shape)
    }

    public func globalAveragePool(_ x: ONNXValue) -> ONNXValue {
        node("GlobalAveragePool", [x.name], shape: [x.channels, 1, 1])
    }
}

extension Tensor {
    /// A rank-4 tensor for asking a convolution its (input-independent) padding.
    static let placeholder4D = try! Tensor(shape: [1, 1, 1, 1])
}
