import GraftTensor

/// One module of a summary: its tree path, class, output shape in one forward, the parameters
/// under it (buffers excluded, as torchinfo counts), its mult-adds and receptive field.
public struct ModuleSummaryRow: Sendable, Equatable, Codable {
    public let path: String
    public let type: String
    /// Depth in the tree (the root is 0).
    public let depth: Int
    /// nil for a module the forward never runs (auxiliary classifiers at inference).
    public let outputShape: [Int]?
    public let parameters: Int
    public let trainableParameters: Int
    /// Multiply-accumulates of one forward of the whole batch, counted as torchinfo counts them:
    /// a convolution's weights and bias once per output position, any other layer's parameters once
    /// per sample, parameter-free layers nothing; a container sums its leaves.
    public let multAdds: Int
    /// The input window one output value sees and the stride product, per axis (height, width);
    /// nil where the output has no spatial layout (after global pooling, the classifier).
    public let receptiveField: ReceptiveField?
    /// Activation memory a training step keeps for this module, as torchinfo estimates it: the
    /// output (float32) twice — value and gradient — for each leaf with parameters; a container sums.
    public let activationBytes: Int

    enum CodingKeys: String, CodingKey {
        case path, type, depth, parameters
        case outputShape = "output_shape", trainableParameters = "trainable_params", multAdds = "mult_adds"
        case receptiveField = "receptive_field", activationBytes = "activation_bytes"
    }
}

/// A model's modules with their output shapes, parameter counts and mult-adds (torchinfo's
/// `summary` table) and their receptive fields.
public struct ModuleSummary: Sendable, Equatable, Codable {
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let totalParameters: Int
    public let trainableParameters: Int
    public let multAdds: Int
    /// torchinfo's "Forward/backward pass size" in bytes.
    public let activationBytes: Int
    /// The last feature map before global pooling: the module that produced it (Grad-CAM's default
    /// layer) and its receptive field.
    public let featureMapPath: String?
    public let featureMapField: ReceptiveField?
    public let layers: [ModuleSummaryRow]
}

extension Module {
    /// Runs one evaluation-mode forward of `x` and records every module's output shape and
    /// receptive field (a module called more than once reports its last call, as `intermediates` does).
    public func summary(_ x: Tensor) throws -> ModuleSummary {
        let modules = namedModules()
        var shapes: [ObjectIdentifier: [Int]] = [:]
        let tracer = ReceptiveFieldTracer(input: x)
        // The caller's own observers keep running, and are back in place afterwards.
        let previous = modules.map(\.module.outputObserver)
        defer { for ((_, m), observer) in zip(modules, previous) { m.outputObserver = observer; m.forwardTracer = nil } }
        for ((_, m), observer) in zip(modules, previous) {
            let id = ObjectIdentifier(m)
            if m !== self { m.outputObserver = { y in observer?(y); shapes[id] = y.shape } }
            m.forwardTracer = tracer
        }
        prepareInference()
        let y = try self(x)
        shapes[ObjectIdentifier(self)] = y.shape

        var totals: [ObjectIdentifier: (multAdds: Int, bytes: Int)] = [:]
        func accumulate(_ m: Module) -> (multAdds: Int, bytes: Int) {
            let children = m.namedChildren
            let own = children.isEmpty ? Self.leafCosts(m, output: shapes[ObjectIdentifier(m)]) : (0, 0)
            let sum = children.reduce(own) { total, child in
                let c = accumulate(child.module)
                return (total.0 + c.0, total.1 + c.1)
            }
            totals[ObjectIdentifier(m)] = sum
            return sum
        }
        _ = accumulate(self)

        let rows = modules.map { path, m -> ModuleSummaryRow in
            let id = ObjectIdentifier(m)
            let (all, trainable) = m.parameterCounts
            let shape = shapes[id]
            return ModuleSummaryRow(path: path, type: m.typeName, depth: path.isEmpty ? 0 : path.split(separator: ".").count,
                                    outputShape: shape, parameters: all, trainableParameters: trainable,
                                    multAdds: totals[id]?.multAdds ?? 0,
                                    receptiveField: shape?.count == 4 ? tracer.outputFields[id] : nil,
                                    activationBytes: totals[id]?.bytes ?? 0)
        }
        let featureMap = tracer.lastFeatureMap.flatMap { last in modules.first { $0.module === last } }
        return ModuleSummary(inputShape: x.shape, outputShape: y.shape, totalParameters: rows.first?.parameters ?? 0,
                             trainableParameters: rows.first?.trainableParameters ?? 0,
                             multAdds: rows.first?.multAdds ?? 0, activationBytes: rows.first?.activationBytes ?? 0,
                             featureMapPath: featureMap?.path,
                             featureMapField: featureMap.flatMap { tracer.outputFields[ObjectIdentifier($0.module)] },
                             layers: rows)
    }

    /// Parameters under this module, all and trainable (buffers are not parameters).
    var parameterCounts: (all: Int, trainable: Int) {
        namedParameters().reduce(into: (0, 0)) { total, entry in
            guard entry.parameter.kind != .buffer else { return }
            total.0 += entry.parameter.value.count
            if entry.parameter.requiresGrad { total.1 += entry.parameter.value.count }
        }
    }

    /// torchinfo's mult-adds and forward/backward bytes of one leaf from its own `weight` and `bias`.
    private static func leafCosts(_ m: Module, output: [Int]?) -> (multAdds: Int, bytes: Int) {
        guard let output, let batch = output.first else { return (0, 0) }
        var multAdds = 0, hasParameters = false
        for (name, state) in m.namedStates {
            guard case .parameter(let p) = state, p.kind != .buffer else { continue }
            hasParameters = true
            guard name == "weight" || name == "bias" else { continue }
            let positions = m.typeName.contains("Conv") ? output.dropFirst(2).reduce(batch, *) : batch
            multAdds += p.value.count * positions
        }
        let bytes = hasParameters ? output.reduce(1, *) * MemoryLayout<Float>.size * 2 : 0
        return (multAdds, bytes)
    }
}
