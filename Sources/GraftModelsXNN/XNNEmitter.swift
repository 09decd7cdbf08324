import CXNNPACK
import GraftNN
import GraftTensor

/// A value of the plan being built: where it lives — an XNNPACK id in one segment's subgraph, or a
/// slot (a plan buffer) a host step wrote — and its shape without the batch dimension, channels last:
/// `[H, W, C]` for maps, `[F]` for rows. A row made by flattening a map remembers the map's shape:
/// torch flattens `C·H·W`, XNNPACK `H·W·C`, so the Linear after it reorders its columns.
public struct XNNValue: Sendable {
    /// The id within `segment`'s subgraph, or the slot when `segment` is `XNNValue.inSlot`.
    public let id: UInt32
    public let shape: [Int]
    public var flattenedMap: [Int]? = nil
    public var segment: Int = 0
    static let inSlot = -1

    init(id: UInt32, shape: [Int], segment: Int) {
        (self.id, self.shape, self.segment) = (id, shape, segment)
    }

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

/// The state of one lowering: the segments (XNNPACK subgraphs) and host steps in the order they run,
/// the batch size it is built for (XNNPACK's shapes are static) and the weights it reads, folded and
/// reordered into XNNPACK's layouts. The weights are copied at lowering, so a plan is a snapshot of
/// the model.
///
/// What XNNPACK has no operator for (LayerNorm, the erf GELU) runs as a host step between two
/// segments, on plan buffers ("slots"). A value one segment makes and a later one (or a host step)
/// reads crosses through a slot: the maker's subgraph copies it to an external output, the reader's
/// declares an external input; `use` arranges both the first time a value is read elsewhere.
public final class XNNEmitter {
    public let batch: Int
    let weights: XNNWeights
    private(set) var segments: [XNNSegment] = []
    private(set) var steps: [XNNStep] = []
    /// Shapes (batch excluded) of the plan buffers.
    private(set) var slotShapes: [[Int]] = []
    private var exported: [XNNValueKey: Int] = [:]
    /// A plan of the features: the head module whose input is the output, and that input once reached
    /// (everything after it is skipped).
    var stopBefore: ObjectIdentifier?
    private(set) var captured: XNNValue?
    private var imported: [XNNValueKey: UInt32] = [:]
    /// XNN_INVALID_VALUE_ID: "define a new internal id" / "no bias".
    static let invalidID = UInt32.max

    init(batch: Int, weights: XNNWeights) throws {
        self.batch = batch
        self.weights = weights
        try startSegment()
    }

    /// The subgraph nodes are being added to.
    var subgraph: xnn_subgraph_t { segments[segments.count - 1].subgraph }
    private var current: Int { segments.count - 1 }

    /// Any module: its own lowering, or an error naming its type.
    public func emit(_ module: Module, _ x: XNNValue) throws -> XNNValue {
        if try stopsAt(module, x) { return captured! }
        guard let emittable = module as? XNNEmittable else { throw XNNLoweringError.unsupportedModule(module.typeName) }
        return try emittable.emitXNN(x, self)
    }

    /// Whether `module` is where a features plan stops: records the rows it would read.
    func stopsAt(_ module: Module, _ x: XNNValue) throws -> Bool {
        if captured != nil { return true }
        guard let stopBefore, ObjectIdentifier(module) == stopBefore else { return false }
        captured = try flatten(x)
        return true
    }

    /// Modules run one after another, as `Sequential` runs them, with a Conv2d's BatchNorm folded
    /// into it and the activation after a Conv2d or Linear given to it (see `followingActivation`).
    public func emitChain(_ layers: [Module], _ x: XNNValue) throws -> XNNValue {
        var h = x
        var i = 0
        while i < layers.count {
            if let conv = layers[i] as? Conv2d {
                let norm = i + 1 < layers.count ? layers[i + 1] as? BatchNorm2d : nil
                let next = i + (norm == nil ? 1 : 2)
                let clamp = next < layers.count ? Self.followingActivation(layers[next]) : nil
                h = try self.conv(conv, norm: norm, activation: clamp ?? .none, h)
                i = next + (clamp == nil ? 0 : 1)
            } else if let linear = layers[i] as? Linear {
                let clamp = i + 1 < layers.count ? Self.followingActivation(layers[i + 1]) : nil
                h = try self.linear(linear, activation: clamp ?? .none, h)
                i += clamp == nil ? 1 : 2
            } else {
                h = try emit(layers[i], h)
                i += 1
            }
        }
        return h
    }

    /// The activation of `module`, which the node before it takes over: a ReLU or ReLU6 as its output
    /// clamp, a SiLU or GELU run in place on its output (`conv`), others as nodes after it.
    private static func followingActivation(_ module: Module) -> Activation? { (module as? ActivationModule)?.kind }

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

    /// A new internal value of `shape` (batch prepended) in the current segment.
    func value(_ shape: [Int]) throws -> XNNValue {
        XNNValue(id: try defineTensor(shape, external: nil), shape: shape, segment: current)
    }

    /// A static tensor holding `values` (kept alive by the plan).
    func constant(_ values: [Float], shape: [Int]) throws -> UInt32 {
        let data = weights.hold(values)
        var id: UInt32 = 0
        try checkValue(shape.withUnsafeBufferPointer {
            xnn_define_tensor_value(subgraph, xnn_datatype_fp32, shape.count, $0.baseAddress, data, XNNEmitter.invalidID, 0, &id)
        }, "a static \(shape) tensor")
        return id
    }

    /// Defines a `[batch] + shape` value in the current subgraph: internal, or external with the
    /// segment's next external id and XNN_VALUE_FLAG_EXTERNAL_INPUT (1) / _OUTPUT (2).
    private func defineTensor(_ shape: [Int], external flags: UInt32?) throws -> UInt32 {
        guard shape.allSatisfy({ $0 >= 1 }) else { throw XNNLoweringError.shapeMismatch("a layer's output would be \(shape)") }
        let dims = [batch] + shape
        var id: UInt32 = 0
        let wanted = flags == nil ? XNNEmitter.invalidID : segments[current].nextExternalID()
        try checkValue(dims.withUnsafeBufferPointer {
            xnn_define_tensor_value(subgraph, xnn_datatype_fp32, dims.count, $0.baseAddress, nil, wanted, flags ?? 0, &id)
        }, "a \(dims) value")
        return id
    }

    // MARK: - Segments and slots

    /// The id of `v` in the current segment: its own, or an external input fed from its slot.
    func use(_ v: XNNValue) throws -> UInt32 {
        if v.segment == current { return v.id }
        let slot = try self.slot(of: v)
        let key = XNNValueKey(segment: current, id: UInt32(slot))
        if let known = imported[key] { return known }
        let id = try defineTensor(slotShapes[slot], external: 0x1)
        segments[current].externals.append((id, slot))
        imported[key] = id
        return id
    }

    /// The slot holding `v`: where a host step wrote it, or a copy its segment makes on first request.
    func slot(of v: XNNValue) throws -> Int {
        if v.segment == XNNValue.inSlot { return Int(v.id) }
        let key = XNNValueKey(segment: v.segment, id: v.id)
        if let known = exported[key] { return known }
        let slot = newSlot(v.shape)
        let maker = segments[v.segment]
        let out = maker.nextExternalID()
        var id: UInt32 = 0
        let dims = [batch] + v.shape
        try checkValue(dims.withUnsafeBufferPointer {
            xnn_define_tensor_value(maker.subgraph, xnn_datatype_fp32, dims.count, $0.baseAddress, nil, out, 0x2, &id)
        }, "an exported \(dims) value")
        try check(dims.withUnsafeBufferPointer { xnn_define_static_reshape(maker.subgraph, dims.count, $0.baseAddress, v.id, id, 0) },
                  "a copy to a plan buffer", in: v.segment)
        maker.externals.append((id, slot))
        exported[key] = slot
        return slot
    }

    /// A new value of the current segment that its node writes straight into a new plan buffer (an
    /// external output: no copy node), for a host step that reads it next.
    func exportedValue(_ shape: [Int]) throws -> XNNValue {
        let slot = newSlot(shape)
        let id = try defineTensor(shape, external: 0x2)
        segments[current].externals.append((id, slot))
        exported[XNNValueKey(segment: current, id: id)] = slot
        return XNNValue(id: id, shape: shape, segment: current)
    }

    /// A new plan buffer of `[batch] + shape`.
    func newSlot(_ shape: [Int]) -> Int {
        slotShapes.append(shape)
        return slotShapes.count - 1
    }

    /// A step Graft runs between two segments: it reads `inputs` from their slots and writes a new
    /// slot of `shape`; the nodes after it go to a new segment.
    func host(_ inputs: [XNNValue], shape: [Int], _ run: @escaping XNNHostStep.Body) throws -> XNNValue {
        let sources = try inputs.map { try slot(of: $0) }
        let out = newSlot(shape)
        steps.append(.host(XNNHostStep(inputs: sources, output: out, run: run)))
        try startSegment()
        return XNNValue(id: UInt32(out), shape: shape, segment: XNNValue.inSlot)
    }

    /// A host step that rewrites `x`'s plan buffer in place (no second buffer, no copy): only for a value
    /// nothing else reads, such as a node's output made by `exportedValue` for this step alone.
    func hostInPlace(_ x: XNNValue, activation: Activation? = nil, _ run: @escaping XNNHostStep.Body) throws -> XNNValue {
        let slot = try slot(of: x)
        steps.append(.host(XNNHostStep(inputs: [slot], output: slot, run: run, inPlaceActivation: activation)))
        try startSegment()
        return XNNValue(id: UInt32(slot), shape: x.shape, segment: XNNValue.inSlot)
    }

    /// When the last thing planned is a host step applying an activation in place to `x`'s slot (nothing
    /// has run or been defined after it), replaces it with one step that reads that slot — still
    /// applying the activation to it in place, so `x` keeps its meaning — and writes a new slot of
    /// `shape`: `make(activation)` is the new step's body. Nil, changing nothing, otherwise.
    func fuseTrailingActivation(_ x: XNNValue, shape: [Int], _ make: (Activation) -> XNNHostStep.Body) -> XNNValue? {
        guard x.segment == XNNValue.inSlot, steps.count >= 2, case .segment(let last) = steps[steps.count - 1],
              segments[last].nodes == 0, segments[last].externals.isEmpty,
              case .host(let step) = steps[steps.count - 2], let kind = step.inPlaceActivation,
              step.output == Int(x.id) else { return nil }
        let out = newSlot(shape)
        steps[steps.count - 2] = .host(XNNHostStep(inputs: step.inputs, output: out, run: make(kind)))
        return XNNValue(id: UInt32(out), shape: shape, segment: XNNValue.inSlot)
    }

    private func startSegment() throws {
        var handle: xnn_subgraph_t?
        guard xnn_create_subgraph(XNNSegment.externalIDs, 0, &handle) == xnn_status_success, let handle else {
            throw XNNLoweringError.xnnpack("could not create a subgraph")
        }
        segments.append(XNNSegment(subgraph: handle))
        steps.append(.segment(segments.count - 1))
    }

    /// A static tensor as a value that broadcasts against maps from the trailing (channel) axis: a
    /// scalar `[1]`, per-channel `[C]`, or any `shape` given.
    func constantValue(_ values: [Float], shape: [Int]? = nil) throws -> XNNValue {
        let shape = shape ?? [values.count]
        return XNNValue(id: try constant(values, shape: shape), shape: shape, segment: current)
    }

    /// An elementwise node of XNNPACK's binary kind (`xnn_define_subtract`, `xnn_define_divide`, …);
    /// `b` may broadcast.
    typealias BinaryDefinition = (xnn_subgraph_t?, Float, Float, UInt32, UInt32, UInt32, UInt32) -> xnn_status
    func binary(_ define: BinaryDefinition, _ a: XNNValue, _ b: XNNValue, _ what: String) throws -> XNNValue {
        let (ia, ib) = (try use(a), try use(b))
        let y = try value(a.shape)
        try check(define(subgraph, -.infinity, .infinity, ia, ib, y.id, 0), what)
        return y
    }

    /// A node's definition status (counted: a segment without nodes gets no runtime).
    func check(_ status: xnn_status, _ what: @autoclosure () -> String, in segment: Int? = nil) throws {
        try checkValue(status, what())
        segments[segment ?? current].nodes += 1
    }

    /// A value's definition status.
    func checkValue(_ status: xnn_status, _ what: @autoclosure () -> String) throws {
        guard status == xnn_status_success else { throw XNNLoweringError.xnnpack("defining \(what()) failed (status \(status.rawValue))") }
    }
}

/// One XNNPACK subgraph of a plan, with the plan buffers its external values are bound to.
final class XNNSegment {
    let subgraph: xnn_subgraph_t
    var externals: [(id: UInt32, slot: Int)] = []
    var nodes = 0
    private var nextExternal: UInt32 = 0
    /// External ids reserved per subgraph (XNNPACK fixes the count at creation).
    static let externalIDs: UInt32 = 1024

    init(subgraph: xnn_subgraph_t) { self.subgraph = subgraph }
    deinit { xnn_delete_subgraph(subgraph) }

    func nextExternalID() -> UInt32 {
        defer { nextExternal += 1 }
        return nextExternal
    }
}

/// A value of one segment (or a slot, for `XNNValue.inSlot`).
struct XNNValueKey: Hashable {
    let segment: Int
    let id: UInt32
}

/// What a plan runs, in order.
enum XNNStep {
    case segment(Int)
    case host(XNNHostStep)
}

/// A step Graft runs on plan buffers between segments (LayerNorm, GELU).
struct XNNHostStep {
    /// Input buffers, the output buffer, the batch size and the thread pool to spread the work on.
    typealias Body = (_ inputs: [UnsafeMutablePointer<Float>], _ output: UnsafeMutablePointer<Float>, _ batch: Int, _ pool: pthreadpool_t?) -> Void
    let inputs: [Int]
    let output: Int
    let run: Body
    /// The activation this step applies in place to its one slot, when that is all it does (a step
    /// that reads the slot next may take the activation over: `fuseTrailingActivation`).
    var inPlaceActivation: Activation? = nil
}
