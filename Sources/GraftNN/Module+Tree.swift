import GraftTensor

/// Walking the tree: paths, parameters, modes, freezing, replacement and initialization.
extension Module {
    /// Every module of the subtree with its path, depth first, self first (path "" for the root, as
    /// PyTorch's `named_modules()`).
    public func namedModules(prefix: String = "") -> [(path: String, module: Module)] {
        var out: [(path: String, module: Module)] = []
        func walk(_ m: Module, _ path: String) {
            out.append((path, m))
            for (name, child) in m.namedChildren { walk(child, path.isEmpty ? name : path + "." + name) }
        }
        walk(self, prefix)
        return out
    }

    /// Every state entry with its full key, in PyTorch's state-dict order.
    public func namedStateEntries() -> [(name: String, entry: StateEntry)] {
        var out: [(name: String, entry: StateEntry)] = []
        for (path, m) in namedModules() {
            for (name, entry) in m.namedStates { out.append((path.isEmpty ? name : path + "." + name, entry)) }
        }
        return out
    }

    /// Every parameter and float buffer with its key (PyTorch's `named_parameters()` plus buffers).
    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        namedStateEntries().compactMap { if case .parameter(let p) = $0.entry { return ($0.name, p) } else { return nil } }
    }

    /// Parameters and buffers of the subtree in state-dict order.
    public var parameters: [Parameter] { namedParameters().map(\.parameter) }

    /// What an optimizer updates now.
    public func trainableParameters() -> [(name: String, parameter: Parameter)] {
        namedParameters().filter { $0.parameter.isTrainable }
    }

    /// Whether this module or a descendant has a parameter the optimizer updates.
    public var hasTrainableParameters: Bool { namedModules().contains { $0.module.ownTrainable } }

    private var ownTrainable: Bool {
        namedStates.contains { if case .parameter(let p) = $0.state { return p.isTrainable } else { return false } }
    }

    /// The parameter or buffer under `key`, if there is one.
    public func parameter(_ key: String) -> Parameter? { namedParameters().first { $0.name == key }?.parameter }

    /// The module at a dotted path (`layer3`, `features.6.0`); "" is this module.
    public func module(at path: String) -> Module? {
        guard !path.isEmpty else { return self }
        var m: Module = self
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard let next = m.namedChildren.first(where: { $0.name == part })?.module else { return nil }
            m = next
        }
        return m
    }

    /// The module at `path`, or an error that lists the valid paths.
    public func requireModule(at path: String) throws -> Module {
        if let m = module(at: path) { return m }
        // Shallow paths first: the list a message can show should start with the model's outline.
        let valid = namedModules().map(\.path).filter { !$0.isEmpty }
        let byDepth = valid.enumerated().sorted { a, b in
            let (da, db) = (a.element.split(separator: ".").count, b.element.split(separator: ".").count)
            return da != db ? da < db : a.offset < b.offset
        }
        throw NNError.noSuchModule(path: path, valid: byDepth.map(\.element))
    }

    /// Puts `replacement` where the module at `path` is (`model.replace("fc", with: Linear(512, 3))`).
    public func replace(_ path: String, with replacement: Module) throws {
        _ = try requireModule(at: path)
        let parts = path.split(separator: ".").map(String.init)
        guard let last = parts.last else { throw NNError.cannotReplace(parent: typeName, child: path) }
        let parent = try requireModule(at: parts.dropLast().joined(separator: "."))
        try parent.setChild(last, replacement)
    }

    /// Training mode for this module and every descendant (`model.train()`).
    public func train(_ on: Bool = true) {
        for (_, m) in namedModules() { m.isTraining = on }
    }

    /// Evaluation mode for the whole subtree (`model.eval()`).
    public func eval() { train(false) }

    /// Stops gradients for every parameter under the modules at `paths` — a module path takes its
    /// whole subtree; a pattern with `*` or `?` matches parameter keys. Returns how many it touched.
    @discardableResult
    public func freeze(matching paths: String...) throws -> Int { try setRequiresGrad(false, paths) }

    /// Lets the optimizer update the parameters under `paths` again (buffers stay untrained).
    @discardableResult
    public func unfreeze(matching paths: String...) throws -> Int { try setRequiresGrad(true, paths) }

    private func setRequiresGrad(_ on: Bool, _ paths: [String]) throws -> Int {
        let all = namedParameters()
        var touched = 0
        for path in paths {
            let matched: [Parameter]
            if path.contains("*") || path.contains("?") {
                let glob = Glob(path)
                matched = all.filter { glob.matches($0.name) }.map(\.parameter)
            } else {
                matched = try requireModule(at: path).parameters
            }
            for p in matched where p.kind != .buffer { p.requiresGrad = on; touched += 1 }
        }
        return touched
    }

    /// Initializes every parameter as a model trained from scratch starts, drawing from one seeded
    /// stream in state-dict order (reproducible). `only` limits it to some parameters (keys a
    /// checkpoint lacked).
    public func initialize(seed: UInt64 = 0, scheme: InitScheme = .torchDefault, only: Set<ObjectIdentifier>? = nil) {
        var rng = SeededGenerator(seed: seed)
        for (_, m) in namedModules() {
            let own = m.namedStates.compactMap { entry -> Parameter? in
                if case .parameter(let p) = entry.state { return p } else { return nil }
            }
            guard !own.isEmpty else { continue }
            guard let only else { m.resetParameters(scheme, &rng); continue }
            guard own.contains(where: { only.contains(ObjectIdentifier($0)) }) else { continue }
            // Re-initialize the module, then restore the parameters that were not asked for.
            let kept = own.map { ($0, $0.value) }
            m.resetParameters(scheme, &rng)
            for (p, v) in kept where !only.contains(ObjectIdentifier(p)) { p.value = v }
        }
    }

    /// Gives every dropout and stochastic-depth module of the subtree one shared random stream.
    public func useRandomSource(_ random: RandomSource) {
        for (_, m) in namedModules() { (m as? RandomizedModule)?.random = random }
    }

    /// Gives every `Conv2d` of the subtree these algorithm settings (A/B benchmarks,
    /// investigations); other models keep theirs.
    public func setConvolutionOptions(_ options: ConvolutionOptions) {
        for (_, m) in namedModules() { (m as? Conv2d)?.options = options }
    }

    /// Evaluation mode with nothing recorded for backward: every fused inference kernel may run.
    public func prepareInference() {
        for (_, m) in namedModules() {
            m.isTraining = false
            m.recordsForBackward = false
            m.needsInputGradient = false
        }
    }

    /// Training mode, recording what backward needs given which parameters are trainable now.
    public func prepareTraining() {
        train()
        _ = prepareBackward(trainableBefore: false)
    }
}

/// A module that draws random numbers in training (dropout, stochastic depth).
public protocol RandomizedModule: AnyObject {
    var random: RandomSource { get set }
}

/// The random stream of a network's dropout and stochastic-depth modules: one per network, seeded by
/// the trainer, so a run is reproducible.
public final class RandomSource {
    public var generator: SeededGenerator

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }
}
