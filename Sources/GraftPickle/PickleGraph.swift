/// The machine's working object graph.
///
/// Python shares mutable containers by reference between the stack and the memo, so a dict put
/// in the memo and filled later is seen filled by every later GET. To get that without classes
/// (whose reference cycles leak and whose long chains release recursively, overflowing the
/// stack), every container lives in one flat array, the arena, and is named by its index. A
/// `Node` is either small inline data or such an index; releasing the arena is a flat loop, and
/// nothing in it can nest deeper than a tuple chain, which is bounded at creation.
enum Node {
    case none
    case bool(Bool)
    case int(Int)
    /// Minimal little-endian two's complement, only for values outside `Int`.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case global(module: String, name: String)
    /// An index into the arena.
    case object(Int)
}

/// One container or recorded call in the arena.
struct PickleObject {
    enum Kind: Equatable {
        case list
        case tuple
        case dict
        case set
        case frozenSet
        case call(module: String, name: String)
        case persistentID
        /// The target of a BUILD that has no identity of its own (a scalar, a tuple).
        case wrapper

        /// The Python type name, for messages.
        var name: String {
            switch self {
            case .list: return "list"
            case .tuple: return "tuple"
            case .dict: return "dict"
            case .set: return "set"
            case .frozenSet: return "frozenset"
            case .call(let module, let name): return PickleText.escaped("\(module).\(name)") + "(…)"
            case .persistentID: return "persistent id"
            case .wrapper: return "built object"
            }
        }
    }

    var kind: Kind
    /// Elements; dict keys; call arguments; the id of a persistent id; the wrapped value.
    var items: [Node]
    /// Dict values, parallel to `items`.
    var values: [Node] = []
    /// Membership of dict keys and set elements, for duplicate detection.
    var keys: Set<HashKey> = []
    /// BUILD states applied to this object, in order.
    var states: [Node] = []
    /// Offset of the opcode that created the object, for errors found later.
    let offset: Int
    /// Tuples only (they are immutable): nesting height, node count (clamped just above the
    /// node limit) and whether every element is hashable data. Other kinds keep the defaults.
    var height = 1
    var nodeCount = 1
    var isHashable = false

    init(_ kind: Kind, items: [Node], offset: Int) {
        self.kind = kind
        self.items = items
        self.offset = offset
    }
}

/// A dict key or set element with Python's equality: `True == 1 == 1.0`, text compared by code
/// points (not Swift's canonical equivalence), and each NaN distinct.
indirect enum HashKey: Hashable {
    case none
    case int(Int)
    case bigInt([UInt8])
    case float(UInt64)
    case nan(serial: Int)
    case string([UInt8])
    case bytes([UInt8])
    case tuple([HashKey])
}
