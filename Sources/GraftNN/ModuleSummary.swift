import GraftTensor

/// One module of a summary: its tree path, class, output shape in one forward, and the parameters
/// under it (buffers excluded, as torchinfo counts).
public struct ModuleSummaryRow: Sendable, Equatable, Codable {
    public let path: String
    public let type: String
    /// Depth in the tree (the root is 0).
    public let depth: Int
    /// nil for a module the forward never runs (auxiliary classifiers at inference).
    public let outputShape: [Int]?
    public let parameters: Int
    public let trainableParameters: Int
}

/// A model's modules with their output shapes and parameter counts (torchinfo's `summary` table).
public struct ModuleSummary: Sendable, Equatable, Codable {
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let totalParameters: Int
    public let trainableParameters: Int
    public let layers: [ModuleSummaryRow]
}

extension Module {
    /// Runs one evaluation-mode forward of `x` and records every module's output shape (a module
    /// called more than once reports its last call, as `intermediates` does).
    public func summary(_ x: Tensor) throws -> ModuleSummary {
        let modules = namedModules()
        var shapes: [ObjectIdentifier: [Int]] = [:]
        defer { for (_, m) in modules { m.outputObserver = nil } }
        for (_, m) in modules where m !== self {
            let id = ObjectIdentifier(m)
            m.outputObserver = { y in shapes[id] = y.shape }
        }
        prepareInference()
        let y = try self(x)
        func counts(_ m: Module) -> (Int, Int) {
            m.namedParameters().reduce(into: (0, 0)) { total, entry in
                guard entry.parameter.kind != .buffer else { return }
                total.0 += entry.parameter.value.count
                if entry.parameter.requiresGrad { total.1 += entry.parameter.value.count }
            }
        }
        let rows = modules.map { path, m -> ModuleSummaryRow in
            let (all, trainable) = counts(m)
            return ModuleSummaryRow(path: path, type: m.typeName, depth: path.isEmpty ? 0 : path.split(separator: ".").count,
                                    outputShape: m === self ? y.shape : shapes[ObjectIdentifier(m)],
                                    parameters: all, trainableParameters: trainable)
        }
        return ModuleSummary(inputShape: x.shape, outputShape: y.shape, totalParameters: rows.first?.parameters ?? 0,
                             trainableParameters: rows.first?.trainableParameters ?? 0, layers: rows)
    }
}
