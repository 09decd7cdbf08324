import GraftTensor

extension Module {
    /// The outputs of the modules at `paths` in one evaluation-mode forward, as torchvision's
    /// `create_feature_extractor` returns them: a container's output is its last child's, and a
    /// module called more than once (a block's shared ReLU) reports its last call. Fused inference
    /// kernels step aside for the observed modules, so each value is the module's own output.
    public func intermediates(_ x: Tensor, at paths: [String]) throws -> [String: Tensor] {
        let modules = try paths.map { try requireModule(at: $0) }
        var outputs: [String: Tensor] = [:]
        defer { for m in modules { m.outputObserver = nil } }
        for (path, m) in zip(paths, modules) {
            let previous = m.outputObserver
            m.outputObserver = { y in
                previous?(y)
                outputs[path] = y
            }
        }
        prepareInference()
        let y = try self(x)
        if paths.contains("") { outputs[""] = y }
        return outputs
    }
}
