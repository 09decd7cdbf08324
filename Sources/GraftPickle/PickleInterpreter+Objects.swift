/// Globals, calls, BUILD and persistent ids: the opcodes that run code in Python. Here a global is
/// a checked pair of names, and a call is a record, except for the few allowlisted callables
/// whose meaning is plain data (OrderedDict, set, frozenset, `_codecs.encode`, `bytes()`).
extension PickleInterpreter {
    /// Python 2 module names in protocol 0–2 streams, mapped as `pickle`'s `fix_imports` does.
    static let python2Modules = ["__builtin__": "builtins", "copy_reg": "copyreg"]

    /// The encoding names `_codecs.encode` is honoured with (CPython protocol 2 writes "latin1").
    static let latin1Names: Set<String> = ["latin1", "latin-1", "latin_1"]

    /// GLOBAL: module and name on two text lines.
    mutating func pushGlobalFromLines() throws {
        let moduleLine = try line()
        let nameLine = try line()
        guard var module = PickleText.utf8(moduleLine), let name = PickleText.utf8(nameLine) else {
            throw invalidString
        }
        let written = "\(module).\(name)"
        if proto < 3, let mapped = Self.python2Modules[module] { module = mapped }
        try pushGlobal(module: module, name: name, written: written)
    }

    /// STACK_GLOBAL: name and module popped from the stack, both str.
    mutating func pushStackGlobal() throws {
        let name = try pop()
        let module = try pop()
        guard case .string(let m) = module, case .string(let n) = name else {
            throw malformed(
                "STACK_GLOBAL needs two str operands, found \(kindName(module)) and \(kindName(name))")
        }
        try pushGlobal(module: m, name: n, written: "\(m).\(n)")
    }

    /// The allowlist check, on the exact bytes of "module.name" (Swift's `==` on strings would
    /// accept canonically equivalent spellings). `written` is the name as it appears in the file.
    private mutating func pushGlobal(module: String, name: String, written: String) throws {
        guard allowedGlobals.contains(Array("\(module).\(name)".utf8)) else {
            throw PickleError.disallowedGlobal(offset: opOffset, name: written)
        }
        push(.global(module: module, name: name))
    }

    mutating func reduce() throws {
        let args = try pop()
        let callable = try pop()
        push(try call(callable, args))
    }

    /// NEWOBJ/NEWOBJ_EX: `cls.__new__(cls, *args)`, recorded like a call. Keyword arguments have
    /// no place in `PickleValue.call`, so NEWOBJ_EX accepts only an empty dict of them.
    mutating func newObj(withKeywords: Bool) throws {
        if withKeywords {
            let keywords = try pop()
            let id = try object(keywords, ofKind: .dict, for: "needs a dict of keyword arguments")
            guard arena[id].items.isEmpty else {
                throw malformed("NEWOBJ_EX with keyword arguments is not supported")
            }
        }
        let args = try pop()
        let cls = try pop()
        push(try call(cls, args))
    }

    private mutating func call(_ callable: Node, _ args: Node) throws -> Node {
        guard case .global(let module, let name) = callable else {
            throw malformed("\(opName) needs a global to call, found \(kindName(callable))")
        }
        let argsID = try object(args, ofKind: .tuple, for: "needs a tuple of arguments")
        let items = arena[argsID].items
        switch (module, name) {
        case ("collections", "OrderedDict"):
            return try orderedDict(items)
        case ("builtins", "set"), ("builtins", "frozenset"):
            return try setCall(items, frozen: name == "frozenset")
        case ("_codecs", "encode"):
            if items.count == 2, case .string(let text) = items[0], case .string(let encoding) = items[1],
                Self.latin1Names.contains(encoding.lowercased())
            {
                guard let bytes = Self.latin1(text) else {
                    throw malformed("_codecs.encode: text is not Latin-1")
                }
                return .bytes(bytes)
            }
        case ("builtins", "bytes") where items.isEmpty:
            return .bytes([])  // how CPython protocol 2 writes b""
        default:
            break
        }
        return newObject(PickleObject(.call(module: module, name: name), items: items, offset: opOffset))
    }

    /// `OrderedDict()` or `OrderedDict(pairs)`: a real dict, filled now (a later SETITEMS or a
    /// BUILD of `_metadata` then applies to it).
    private mutating func orderedDict(_ args: [Node]) throws -> Node {
        let id = addObject(PickleObject(.dict, items: [], offset: opOffset))
        guard let source = args.first else { return .object(id) }
        guard args.count == 1, case .object(let sourceID) = source else {
            throw malformed("collections.OrderedDict needs no argument or one iterable of pairs")
        }
        switch arena[sourceID].kind {
        case .dict:
            for (key, value) in zip(arena[sourceID].items, arena[sourceID].values) {
                try insert(key: key, value: value, into: id)
            }
        case .list, .tuple:
            for pair in arena[sourceID].items {
                guard case .object(let pairID) = pair,
                    arena[pairID].kind == .tuple || arena[pairID].kind == .list,
                    arena[pairID].items.count == 2
                else {
                    throw malformed("collections.OrderedDict needs key/value pairs, found \(kindName(pair))")
                }
                try insert(key: arena[pairID].items[0], value: arena[pairID].items[1], into: id)
            }
        default:
            throw malformed("collections.OrderedDict needs an iterable of pairs, found \(kindName(source))")
        }
        return .object(id)
    }

    /// `set()`, `set(iterable)`, and the same for frozenset.
    private mutating func setCall(_ args: [Node], frozen: Bool) throws -> Node {
        var elements: [Node] = []
        if let source = args.first {
            guard args.count == 1, case .object(let sourceID) = source,
                [.list, .tuple, .set, .frozenSet].contains(arena[sourceID].kind)
            else {
                throw malformed("\(frozen ? "frozenset" : "set") needs no argument or one list, tuple or set")
            }
            elements = arena[sourceID].items
        }
        try pushSet(elements, frozen: frozen)
        return try pop()
    }

    static func latin1(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            guard scalar.value <= 0xFF else { return nil }
            bytes.append(UInt8(truncatingIfNeeded: scalar.value))
        }
        return bytes
    }

    /// BUILD: on a dict the state sets attributes (torch's `_metadata`), not items, so it is
    /// dropped; an object with identity records the state in place; anything else is wrapped.
    mutating func build() throws {
        let state = try pop()
        let target = try top()
        if case .object(let id) = target {
            switch arena[id].kind {
            case .dict:
                return
            case .tuple:
                break
            default:
                arena[id].states.append(state)
                return
            }
        }
        var wrapper = PickleObject(.wrapper, items: [target], offset: opOffset)
        wrapper.states = [state]
        replaceTop(newObject(wrapper))
    }

    /// PERSID: an ASCII line.
    mutating func persistentIDFromLine() throws {
        let text = try line()
        guard text.allSatisfy({ $0 < 0x80 }), let id = PickleText.utf8(text) else { throw invalidString }
        push(newObject(PickleObject(.persistentID, items: [.string(id)], offset: opOffset)))
    }
}
