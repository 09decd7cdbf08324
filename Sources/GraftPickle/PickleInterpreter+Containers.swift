import GraftCore

/// Tuples, lists, dicts and sets. Mutable containers are changed in place in the arena, so every
/// stack slot and memo slot that names one sees the change, as in Python.
extension PickleInterpreter {
    func checkLength(_ count: Int) throws {
        guard count <= limits.maxContainerLength else { throw limitExceeded(.containerLength) }
    }

    /// A new tuple, with its height, node count and hashability worked out once, here, because
    /// a tuple never changes. Tuple chains deeper than `maxDepth` stop at the opcode that makes
    /// them.
    mutating func pushTuple(_ items: [Node]) throws {
        try checkLength(items.count)
        let cap = Checked.add(limits.maxNodes, 1) ?? Int.max
        var tuple = PickleObject(.tuple, items: items, offset: opOffset)
        tuple.isHashable = true
        for item in items {
            var childCount = 1
            switch item {
            case .object(let id) where arena[id].kind == .tuple:
                tuple.height = max(tuple.height, arena[id].height + 1)
                childCount = arena[id].nodeCount
                tuple.isHashable = tuple.isHashable && arena[id].isHashable
            case .object:
                tuple.height = max(tuple.height, 2)
                tuple.isHashable = false
            case .global:
                tuple.isHashable = false
            default:
                break
            }
            tuple.nodeCount = min(Checked.add(tuple.nodeCount, childCount) ?? Int.max, cap)
        }
        guard tuple.height <= limits.maxDepth else { throw limitExceeded(.depth) }
        push(newObject(tuple))
    }

    mutating func pushList(_ items: [Node]) throws {
        try checkLength(items.count)
        push(newObject(PickleObject(.list, items: items, offset: opOffset)))
    }

    /// APPEND/APPENDS onto the list now on top of the stack.
    mutating func append(_ items: [Node]) throws {
        let id = try object(try top(), ofKind: .list, for: "needs a list to append to")
        try checkLength(arena[id].items.count + items.count)
        arena[id].items.append(contentsOf: items)
    }

    /// DICT: a new dict from alternating keys and values.
    mutating func pushDict(_ items: [Node]) throws {
        guard items.count % 2 == 0 else {
            throw malformed("DICT needs key/value pairs, found \(items.count) values")
        }
        let dict = newObject(PickleObject(.dict, items: [], offset: opOffset))
        push(dict)
        try setItems(items)
    }

    /// SETITEM/SETITEMS into the dict now on top of the stack.
    mutating func setItems(_ items: [Node]) throws {
        guard items.count % 2 == 0 else {
            throw malformed("\(opName) needs key/value pairs, found \(items.count) values")
        }
        let id = try object(try top(), ofKind: .dict, for: "needs a dict to set items in")
        var i = 0
        while i < items.count {
            try insert(key: items[i], value: items[i + 1], into: id)
            i += 2
        }
    }

    /// One dict entry; a key the dict already holds is an error, not a silent overwrite.
    mutating func insert(key: Node, value: Node, into id: Int) throws {
        let hashed = try hashKey(key)
        try checkLength(arena[id].items.count + 1)
        guard arena[id].keys.insert(hashed).inserted else {
            throw PickleError.duplicateKey(offset: opOffset, key: describeKey(key))
        }
        arena[id].items.append(key)
        arena[id].values.append(value)
    }

    /// FROZENSET, and `set(…)`/`frozenset(…)` calls: a new set; repeated elements collapse as in
    /// Python.
    mutating func pushSet(_ items: [Node], frozen: Bool) throws {
        let id = addObject(PickleObject(frozen ? .frozenSet : .set, items: [], offset: opOffset))
        try addElements(items, to: id)
        push(.object(id))
    }

    /// ADDITEMS into the (mutable) set now on top of the stack.
    mutating func addItems(_ items: [Node]) throws {
        let id = try object(try top(), ofKind: .set, for: "needs a set to add to")
        try addElements(items, to: id)
    }

    private mutating func addElements(_ items: [Node], to id: Int) throws {
        for item in items {
            let hashed = try hashKey(item)
            if arena[id].keys.insert(hashed).inserted {
                try checkLength(arena[id].items.count + 1)
                arena[id].items.append(item)
            }
        }
    }

    // MARK: - Keys

    /// The Python-equality key of a dict key or set element; only hashable data qualifies.
    mutating func hashKey(_ node: Node) throws -> HashKey {
        guard isHashable(node) else {
            throw PickleError.unhashableKey(offset: opOffset, kind: kindName(node))
        }
        if case .object(let id) = node {
            keyNodesHashed = Checked.add(keyNodesHashed, arena[id].nodeCount) ?? Int.max
            guard keyNodesHashed <= limits.maxNodes else { throw limitExceeded(.nodes) }
        }
        return hashKeyOfHashable(node)
    }

    private func isHashable(_ node: Node) -> Bool {
        switch node {
        case .global: return false
        case .object(let id): return arena[id].kind == .tuple && arena[id].isHashable
        default: return true
        }
    }

    /// Recursion only through hashable tuples, whose height is at most `maxDepth`.
    private mutating func hashKeyOfHashable(_ node: Node) -> HashKey {
        switch node {
        case .none: return .none
        case .bool(let b): return .int(b ? 1 : 0)
        case .int(let v): return .int(v)
        case .bigInt(let bytes): return .bigInt(bytes)
        case .float(let d):
            if d.isNaN {
                nanSerial += 1
                return .nan(serial: nanSerial)
            }
            if let v = Int(exactly: d) { return .int(v) }
            if let bytes = PickleInteger.bytes(ofIntegral: d) { return .bigInt(bytes) }
            return .float(d.bitPattern)
        case .string(let s): return .string(Array(s.utf8))
        case .bytes(let b): return .bytes(b)
        case .global: return .none  // excluded by `isHashable`
        case .object(let id):
            var elements: [HashKey] = []
            elements.reserveCapacity(arena[id].items.count)
            for item in arena[id].items { elements.append(hashKeyOfHashable(item)) }
            return .tuple(elements)
        }
    }

    /// A short, terminal-safe rendering of a key for error messages.
    func describeKey(_ node: Node) -> String {
        switch node {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let v): return String(v)
        case .bigInt(let bytes): return "an int of \(bytes.count) bytes"
        case .float(let d): return String(d)
        case .string(let s): return PickleText.escaped(s)
        case .bytes(let b): return "bytes of length \(b.count)"
        case .global, .object: return "a \(kindName(node))"
        }
    }
}
