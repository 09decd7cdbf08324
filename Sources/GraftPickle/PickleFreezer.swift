/// Turns the arena graph reachable from the STOP value into an immutable `PickleValue` tree.
///
/// Each arena object is converted once and its result reused wherever it is referenced, so the
/// work is linear in the graph even when the tree it stands for is exponential (the memo
/// "billion laughs"). What the limits see is the tree: node counts add up per occurrence and
/// heights per path, and the walk stops the moment either passes its limit. An object met again
/// while still being converted is a reference cycle, which a tree cannot hold.
struct PickleFreezer {
    private struct Frozen {
        let value: PickleValue
        /// Nodes of the tree `value` stands for, counting shared parts once per occurrence.
        let count: Int
        /// Container nesting: 0 for a scalar, 1 for a flat container.
        let height: Int
    }

    private let arena: [PickleObject]
    private let limits: PickleLimits
    private var frozen: [Frozen?]
    private var active: [Bool]

    init(arena: [PickleObject], limits: PickleLimits) {
        self.arena = arena
        self.limits = limits
        self.frozen = Array(repeating: nil, count: arena.count)
        self.active = Array(repeating: false, count: arena.count)
    }

    mutating func freeze(_ root: Node) throws -> PickleValue {
        try freeze(root, depth: 0).value
    }

    /// `depth` is the number of containers above `node` on the current path; recursion stops at
    /// `maxDepth`, so the Swift stack never holds more than that many frames of this function.
    private mutating func freeze(_ node: Node, depth: Int) throws -> Frozen {
        guard case .object(let id) = node else {
            return Frozen(value: Self.scalar(node), count: 1, height: 0)
        }
        if let done = frozen[id] { return done }
        let object = arena[id]
        guard !active[id] else {
            throw PickleError.malformed(
                offset: object.offset, reason: "reference cycle: this \(object.kind.name) contains itself")
        }
        guard depth < limits.maxDepth else { throw limitExceeded(.depth, object) }
        active[id] = true

        var count = 0
        var height = 0
        var children: [PickleValue] = []
        children.reserveCapacity(object.items.count)
        for item in object.items {
            let child = try freeze(item, depth: depth + 1)
            children.append(child.value)
            count = try add(count, child.count, object)
            height = max(height, child.height)
        }
        var value: PickleValue
        switch object.kind {
        case .list: value = .list(children)
        case .tuple: value = .tuple(children)
        case .set, .frozenSet: value = .set(children)
        case .call(let module, let name): value = .call(module: module, name: name, args: children)
        case .persistentID: value = .persistentID(children.first ?? .none)
        case .dict:
            var entries: [PickleDictEntry] = []
            entries.reserveCapacity(children.count)
            for (key, item) in zip(children, object.values) {
                let child = try freeze(item, depth: depth + 1)
                entries.append(PickleDictEntry(key: key, value: child.value))
                count = try add(count, child.count, object)
                height = max(height, child.height)
            }
            value = .dict(entries)
        case .wrapper:
            value = children.first ?? .none
        }
        if object.kind != .wrapper {  // a wrapper is only its `.built` layers
            count = try add(count, 1, object)
            height += 1
        }
        for state in object.states {
            let child = try freeze(state, depth: depth + 1)
            value = .built(value, state: child.value)
            count = try add(try add(count, child.count, object), 1, object)
            height = max(height, child.height) + 1
        }
        guard height <= limits.maxDepth else { throw limitExceeded(.depth, object) }
        active[id] = false
        let result = Frozen(value: value, count: count, height: height)
        frozen[id] = result
        return result
    }

    /// `a + b`, refused as soon as it passes `maxNodes`.
    private func add(_ a: Int, _ b: Int, _ object: PickleObject) throws -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow, sum <= limits.maxNodes else { throw limitExceeded(.nodes, object) }
        return sum
    }

    private func limitExceeded(_ limit: PickleLimit, _ object: PickleObject) -> PickleError {
        .limitExceeded(offset: object.offset, limit: limit, maximum: limits.maximum(limit))
    }

    private static func scalar(_ node: Node) -> PickleValue {
        switch node {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let v): return .int(v)
        case .bigInt(let bytes): return .bigInt(bytes)
        case .float(let d): return .float(d)
        case .string(let s): return .string(s)
        case .bytes(let b): return .bytes(b)
        case .global(let m, let n): return .global(module: m, name: n)
        case .object: return .none  // handled by the caller
        }
    }
}
