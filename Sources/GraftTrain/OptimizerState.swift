import GraftNN

/// An optimizer's per-parameter state by parameter name — what a training checkpoint must keep so a
/// resumed run takes exactly the steps an uninterrupted one would (torch's `optimizer.state_dict()`).
public struct OptimizerState: Sendable, Equatable {
    /// Buffers named `<parameter>.<buffer>` (`momentum_buffer`; `exp_avg`, `exp_avg_sq`), as torch names them.
    public var buffers: [String: [Float]] = [:]
    /// Adam's step count per parameter.
    public var steps: [String: Int] = [:]

    public init() {}
}

/// Reading and restoring per-parameter state, keyed by the parameters' state-dict names.
public protocol OptimizerStateful {
    func state(names: [ObjectIdentifier: String]) -> OptimizerState
    /// Restores state read from a checkpoint; a buffer missing, extra or of the wrong size is an error.
    func restore(_ state: OptimizerState, names: [ObjectIdentifier: String]) throws
}

public enum OptimizerStateError: Error, CustomStringConvertible, Equatable {
    case mismatch(String)

    public var description: String {
        switch self {
        case .mismatch(let what): return "the checkpoint's optimizer state does not fit this model: \(what.prefix(300))"
        }
    }
}

extension OptimizerStateful where Self: Optimizer {
    /// The parameters this optimizer updates, with their names.
    func named(_ names: [ObjectIdentifier: String]) throws -> [(name: String, parameter: Parameter)] {
        try groups.flatMap(\.parameters).map { p in
            guard let name = names[ObjectIdentifier(p)] else { throw OptimizerStateError.mismatch("a parameter has no name") }
            return (name, p)
        }
    }

    /// A restored buffer, checked against the parameter's size.
    static func buffer(_ values: [Float]?, _ key: String, count: Int) throws -> StateBuffer {
        guard let values else { throw OptimizerStateError.mismatch("'\(key.prefix(200))' is missing") }
        guard values.count == count else {
            throw OptimizerStateError.mismatch("'\(key.prefix(200))' has \(values.count) values, the parameter \(count)")
        }
        let b = StateBuffer(count: count)
        values.withUnsafeBufferPointer { b.pointer.update(from: $0.baseAddress!, count: count) }
        return b
    }

    static func values(_ b: StateBuffer) -> [Float] { Array(UnsafeBufferPointer(start: b.pointer, count: b.count)) }

    static func requireNoExtra(_ state: OptimizerState, used: Set<String>) throws {
        if let extra = state.buffers.keys.sorted().first(where: { !used.contains($0) }) {
            throw OptimizerStateError.mismatch("'\(extra.prefix(200))' belongs to no parameter this run trains")
        }
    }
}

extension SGD {
    public func state(names: [ObjectIdentifier: String]) -> OptimizerState {
        var s = OptimizerState()
        for (id, b) in buffers { if let name = names[id] { s.buffers[name + ".momentum_buffer"] = Self.values(b) } }
        return s
    }

    public func restore(_ state: OptimizerState, names: [ObjectIdentifier: String]) throws {
        var restored: [ObjectIdentifier: StateBuffer] = [:]
        var used = Set<String>()
        for (name, p) in try named(names) {
            let key = name + ".momentum_buffer"
            guard state.buffers[key] != nil else { continue }  // not stepped yet (frozen until now)
            restored[ObjectIdentifier(p)] = try Self.buffer(state.buffers[key], key, count: p.value.count)
            used.insert(key)
        }
        try Self.requireNoExtra(state, used: used)
        buffers = restored
    }
}

extension AdamW {
    public func state(names: [ObjectIdentifier: String]) -> OptimizerState {
        var s = OptimizerState()
        for (id, m) in moments {
            guard let name = names[id] else { continue }
            s.buffers[name + ".exp_avg"] = Self.values(m.m)
            s.buffers[name + ".exp_avg_sq"] = Self.values(m.v)
            s.steps[name] = m.step
        }
        return s
    }

    public func restore(_ state: OptimizerState, names: [ObjectIdentifier: String]) throws {
        var restored: [ObjectIdentifier: (m: StateBuffer, v: StateBuffer, step: Int)] = [:]
        var used = Set<String>()
        for (name, p) in try named(names) {
            guard let step = state.steps[name] else { continue }  // not stepped yet
            guard step > 0 else { throw OptimizerStateError.mismatch("'\(name.prefix(200))' has step \(step)") }
            let (mk, vk) = (name + ".exp_avg", name + ".exp_avg_sq")
            let n = p.value.count
            restored[ObjectIdentifier(p)] = (try Self.buffer(state.buffers[mk], mk, count: n),
                                             try Self.buffer(state.buffers[vk], vk, count: n), step)
            used.formUnion([mk, vk])
        }
        try Self.requireNoExtra(state, used: used)
        if let extra = state.steps.keys.sorted().first(where: { !used.contains($0 + ".exp_avg") }) {
            throw OptimizerStateError.mismatch("'\(extra.prefix(200))' belongs to no parameter this run trains")
        }
        moments = restored
    }
}
