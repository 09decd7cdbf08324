import GraftCore

/// One run of the pickle machine over one stream: the stack, the MARK stack, the memo and the
/// arena of containers. Nothing here ever looks code up by name; globals are checked against
/// the allowlist and kept as names.
struct PickleInterpreter {
    /// "module.name" as UTF-8 bytes: compared exactly, never by Unicode equivalence.
    let allowedGlobals: Set<[UInt8]>
    let limits: PickleLimits
    var reader: ByteReader

    /// Offset and byte of the opcode being executed, for errors.
    var opOffset = 0
    var opcode: UInt8 = 0
    /// The last PROTO seen (0 when none): Python-2 module names are mapped below protocol 3.
    var proto = 0
    var operations = 0

    var stack: [Node] = []
    /// Stack heights at each open MARK; nothing may pop below the innermost one.
    var marks: [Int] = []
    /// A dictionary, never an array sized by an index from the file.
    var memo: [Int: Node] = [:]
    var arena: [PickleObject] = []
    /// Nodes of tuple keys hashed so far; bounded by `maxNodes` so that a memo-shared tuple used
    /// as a key over and over cannot make hashing exponential.
    var keyNodesHashed = 0
    var nanSerial = 0

    init(bytes: UnsafeRawBufferPointer, offset: Int, allowedGlobals: Set<[UInt8]>, limits: PickleLimits) {
        self.reader = ByteReader(bytes, offset: offset)
        self.allowedGlobals = allowedGlobals
        self.limits = limits
    }

    /// Runs opcodes up to STOP; returns the frozen result and the offset just past STOP.
    mutating func run() throws -> (PickleValue, Int) {
        while true {
            opOffset = reader.offset
            guard !reader.isAtEnd else { throw malformed("the stream ended without STOP") }
            operations += 1
            guard operations <= limits.maxOperations else { throw limitExceeded(.operations) }
            opcode = try reader.u8()
            do {
                if opcode == PickleOpcode.stop.rawValue {
                    let value = try finish()
                    return (value, reader.offset)
                }
                try execute()
            } catch is ByteReaderError {
                throw PickleError.truncated(offset: opOffset, opcode: opName)
            }
            // Whatever is on the stack or in the arena is on its way to becoming result nodes, so
            // the node limit bounds them too: memory stays proportional to the limits, not to
            // the number of opcodes (a file of EMPTY_LIST bytes would otherwise cost ~100 bytes
            // of arena per byte of input).
            guard stack.count <= limits.maxNodes, arena.count <= limits.maxNodes else {
                throw limitExceeded(.nodes)
            }
        }
    }

    /// STOP: no MARK may be open; the top value is frozen. Values under it are ignored, as
    /// CPython ignores them (no pickler leaves any, and they never reach the result).
    private mutating func finish() throws -> PickleValue {
        guard marks.isEmpty else { throw malformed("STOP with \(marks.count) MARK(s) still open") }
        guard let root = stack.last else { throw malformed("STOP with an empty stack") }
        var freezer = PickleFreezer(arena: arena, limits: limits)
        return try freezer.freeze(root)
    }

    // MARK: - Errors

    var opName: String { PickleOpcode(rawValue: opcode)?.name ?? PickleOpcode.displayName(opcode) }

    func malformed(_ reason: String) -> PickleError { .malformed(offset: opOffset, reason: reason) }

    func limitExceeded(_ limit: PickleLimit) -> PickleError {
        .limitExceeded(offset: opOffset, limit: limit, maximum: limits.maximum(limit))
    }

    /// "list", "str", "global os.system", … for messages about operands.
    func kindName(_ node: Node) -> String {
        switch node {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .global(let m, let n): return "global \(PickleText.escaped("\(m).\(n)"))"
        case .object(let id): return arena[id].kind.name
        }
    }

    // MARK: - Stack

    /// The lowest stack index the current opcode may touch.
    var fence: Int { marks.last ?? 0 }

    mutating func push(_ node: Node) { stack.append(node) }

    mutating func pop() throws -> Node {
        guard stack.count > fence else { throw malformed("\(opName) needs a value but the stack is empty") }
        return stack.removeLast()
    }

    func top() throws -> Node {
        guard stack.count > fence, let last = stack.last else {
            throw malformed("\(opName) needs a value but the stack is empty")
        }
        return last
    }

    mutating func replaceTop(_ node: Node) {
        stack[stack.count - 1] = node
    }

    mutating func pushMark() throws {
        guard marks.count < limits.maxDepth else { throw limitExceeded(.depth) }
        marks.append(stack.count)
    }

    /// The values above the innermost MARK, which is closed.
    mutating func popMark() throws -> [Node] {
        guard let mark = marks.popLast() else { throw malformed("\(opName) without a MARK") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    /// The arena index of `node` if it is a container of `kind`, else a malformed-stream error.
    func object(_ node: Node, ofKind kind: PickleObject.Kind, for purpose: String) throws -> Int {
        guard case .object(let id) = node, arena[id].kind == kind else {
            throw malformed("\(opName) \(purpose), found \(kindName(node))")
        }
        return id
    }

    mutating func addObject(_ object: PickleObject) -> Int {
        arena.append(object)
        return arena.count - 1
    }

    mutating func newObject(_ object: PickleObject) -> Node {
        .object(addObject(object))
    }
}
