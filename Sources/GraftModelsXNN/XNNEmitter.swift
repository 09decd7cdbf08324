import CXNNPACK
import GraftNN
import GraftTensor

/// A value of the subgraph being built: its XNNPACK id and its shape without the batch dimension,
/// channels last — `[H, W, C]` for maps, `[F]` for rows. A row made by flattening a map remembers the
/// map's shape: torch flattens `C·H·W`, XNNPACK `H·W·C`, so the Linear after it reorders its columns.
public struct XNNValue: Sendable {
    public let id: UInt32
    public let shape: [Int]
    public var flattenedMap: [Int]? = nil

    public var height: Int { shape[0] }
    public var width: Int { shape[1] }
    public var channels: Int { shape[shape.count - 1] }
    public var isMap: Bool { shape.count == 3 }
}

/// A module that knows its XNNPACK nodes: given its input, it defines nodes and returns its output.
/// Implemented per module type beside each group (GraftNN's layers, then each zoo family).
public protocol XNNEmittable {
    func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue
}

/// The state of one lowering: the subgraph, the batch size it is built for (XNNPACK's shapes are
/// static) and the weights it reads, folded and reordered into XNNPACK's layouts. The weights are
/// copied at lowering, so a plan is a snapshot of the model.
public final class XNNEmitter {
    let subgraph: xnn_subgraph_t
    public let batch: Int
    let weights: XNNWeights
    /// XNN_INVALID_VALUE_ID: "define a new internal id" / "no bias".
    static let invalidID = UInt32.max

    init(subgraph: xnn_subgraph_t, batch: Int, weights: XNNWeights) {
        self.subgraph = subgraph
        self.batch = batch
        self.weights = weights
    }

    /// Any module: its own lowering, or an error naming its type.
    public func emit(_ module: Module, _ x: XNNValue) throws -> XNNValue {
        guard let emittable = module as? XNNEmittable else { throw XNNLoweringError.unsupportedModule(module.typeName) }
        return try emittable.emitXNN(x, self)
    }

    /// Modules run one after another, as `Sequential` runs them, with a Conv2d's BatchNorm folded
    /// into it and a ReLU or ReLU6 after a Conv2d or Linear clamped in its output.
    public func emitChain(_ layers: [Module], _ x: XNNValue) throws -> XNNValue {
        var h = x
        var i = 0
        while i < layers.count {
            if let conv = layers[i] as? Conv2d {
                let norm = i + 1 < layers.count ? layers[i + 1] as? BatchNorm2d : nil
                let next = i + (norm == nil ? 1 : 2)
                let clamp = next < layers.count ? Self.clampable(layers[next]) : nil
                h = try self.conv(conv, norm: norm, activation: clamp ?? .none, h)
                i = next + (clamp == nil ? 0 : 1)
            } else if let linear = layers[i] as? Linear {
                let clamp = i + 1 < layers.count ? Self.clampable(layers[i + 1]) : nil
                h = try self.linear(linear, activation: clamp ?? .none, h)
                i += clamp == nil ? 1 : 2
            } else {
                h = try emit(layers[i], h)
                i += 1
            }
        }
        return h
    }

    /// The activation of `module` when it is one a node's output clamp can apply.
    private static func clampable(_ module: Module) -> Activation? {
        guard let a = module as? ActivationModule, bounds(a.kind) != nil else { return nil }
        return a.kind
    }

    /// An output clamp that is the activation: ReLU and ReLU6, or none.
    static func bounds(_ kind: Activation) -> (Float, Float)? {
        switch kind {
        case .none: return (-.infinity, .infinity)
        case .relu: return (0, .infinity)
        case .relu6: return (0, 6)
        default: return nil
        }
    }

    // MARK: - Values

    /// A new internal value of `shape` (batch prepended).
    func value(_ shape: [Int]) throws -> XNNValue {
        let dims = [batch] + shape
        var id: UInt32 = 0
        try check(dims.withUnsafeBufferPointer {
            xnn_define_tensor_value(subgraph, xnn_datatype_fp32, dims.count, $0.baseAddress, nil, XNNEmitter.invalidID, 0, &id)
        }, "a [\(dims.map(String.init).joined(separator: ", "))] value")
        return XNNValue(id: id, shape: shape)
    }

    /// A static tensor holding `values` (kept alive by the plan).
    func constant(_ values: [Float], shape: [Int]) throws -> UInt32 {
        let data = weights.hold(values)
        var id: UInt32 = 0
        try check(shape.withUnsafeBufferPointer {
            xnn_define_tensor_value(subgraph, xnn_datatype_fp32, shape.count, $0.baseAddress, data, XNNEmitter.invalidID, 0, &id)
        }, "a static \(shape) tensor")
        return id
    }

    /// A static tensor as a value that broadcasts against maps from the trailing (channel) axis: a
    /// scalar `[1]`, per-channel `[C]`, or any `shape` given.
    func constantValue(_ values: [Float], shape: [Int]? = nil) throws -> XNNValue {
        let shape = shape ?? [values.count]
        return XNNValue(id: try constant(values, shape: shape), shape: shape)
    }

    /// An elementwise node of XNNPACK's binary kind (`xnn_define_subtract`, `xnn_define_divide`, …);
    /// `b` may broadcast.
    typealias BinaryDefinition = (xnn_subgraph_t?, Float, Float, UInt32, UInt32, UInt32, UInt32) -> xnn_status
    func binary(_ define: BinaryDefinition, _ a: XNNValue, _ b: XNNValue, _ what: String) throws -> XNNValue {
        let y = try value(a.shape)
        try check(define(subgraph, -.infinity, .infinity, a.id, b.id, y.id, 0), what)
        return y
    }

    func check(_ status: xnn_status, _ what: @autoclosure () -> String) throws {
        guard status == xnn_status_success else { throw XNNLoweringError.xnnpack("defining \(what()) failed (status \(status.rawValue))") }
    }
}
