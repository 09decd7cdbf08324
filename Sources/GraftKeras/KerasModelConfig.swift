/// Reads the layer classes and the classifier activation out of a full-model file's `model_config`
/// JSON, and nothing else.
///
/// Keras 3's legacy writer names a DepthwiseConv2D's kernel just `kernel`, so a weights-only view
/// cannot tell it from a Conv2D's. A full-model `.h5` also carries its architecture as JSON; this
/// reader takes only the `class_name` of every object whose `config` has a `name`. It evaluates
/// nothing (a Lambda layer's bytecode stays an opaque string) and is bounded: the input is an
/// attribute already size-checked by the HDF5 layer, nesting is capped, and any syntax error just
/// means "no classes from the config".
enum KerasModelConfig {
    /// Layer name → class name. Names that appear with two different classes (nested models
    /// reusing a name) are left out rather than guessed.
    static func layerClasses(_ json: String, maxDepth: Int = 64) -> [String: String]? {
        var parser = Parser(bytes: Array(json.utf8), maxDepth: maxDepth)
        guard let root = parser.parseDocument() else { return nil }
        var classes: [String: String] = [:]
        var conflicting: Set<String> = []
        var stack: [Value] = [root]
        while let value = stack.popLast() {
            switch value {
            case .object(let members):
                if case .string(let className)? = members.first(where: { $0.0 == "class_name" })?.1,
                    case .object(let config)? = members.first(where: { $0.0 == "config" })?.1,
                    case .string(let name)? = config.first(where: { $0.0 == "name" })?.1
                {
                    if let existing = classes[name], existing != className { conflicting.insert(name) }
                    classes[name] = classes[name] ?? className
                }
                stack.append(contentsOf: members.map(\.1))
            case .array(let items):
                stack.append(contentsOf: items)
            case .string, .scalar:
                break
            }
        }
        for name in conflicting { classes[name] = nil }
        return classes
    }

    /// The activation of the `predictions` Dense layer, where `keras.applications` puts its
    /// `classifier_activation` (`"softmax"` by default, `"linear"` when built with `None`). Nil when
    /// the config is unreadable or has no such layer: the caller decides the default, not this reader.
    static func classifierActivation(_ json: String, maxDepth: Int = 64) -> String? {
        var parser = Parser(bytes: Array(json.utf8), maxDepth: maxDepth)
        guard let root = parser.parseDocument() else { return nil }
        var found: Set<String> = []
        var stack: [Value] = [root]
        while let value = stack.popLast() {
            switch value {
            case .object(let members):
                if case .string("Dense")? = members.first(where: { $0.0 == "class_name" })?.1,
                    case .object(let config)? = members.first(where: { $0.0 == "config" })?.1,
                    case .string("predictions")? = config.first(where: { $0.0 == "name" })?.1
                {
                    switch config.first(where: { $0.0 == "activation" })?.1 {
                    case .string(let name)?: found.insert(name)
                    // Keras 3 serializes a non-builtin activation as an object: not one Graft knows.
                    case .object?: found.insert("(a serialized object)")
                    default: found.insert("linear")  // `activation: null` is Keras' linear
                    }
                }
                stack.append(contentsOf: members.map(\.1))
            case .array(let items):
                stack.append(contentsOf: items)
            case .string, .scalar:
                break
            }
        }
        // Two `predictions` layers that disagree (nested models) decide nothing.
        return found.count == 1 ? found.first : nil
    }

    indirect enum Value {
        case object([(String, Value)])
        case array([Value])
        case string(String)
        case scalar
    }

    /// A strict-enough JSON reader: objects, arrays and strings are decoded; numbers, booleans,
    /// null and Python's `NaN`/`Infinity` are skipped as scalars.
    struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var i = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        mutating func parseDocument() -> Value? {
            guard let value = parseValue(depth: 0) else { return nil }
            skipSpace()
            return i == bytes.count ? value : nil
        }

        private mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
        }

        private mutating func parseValue(depth: Int) -> Value? {
            guard depth <= maxDepth else { return nil }
            skipSpace()
            guard i < bytes.count else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "{"): return parseObject(depth: depth)
            case UInt8(ascii: "["): return parseArray(depth: depth)
            case UInt8(ascii: "\""): return parseString().map(Value.string)
            default: return parseScalar()
            }
        }

        private mutating func parseObject(depth: Int) -> Value? {
            i += 1
            var members: [(String, Value)] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), let key = parseString() else {
                    return nil
                }
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                guard let value = parseValue(depth: depth + 1) else { return nil }
                members.append((key, value))
                skipSpace()
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard bytes[i] == UInt8(ascii: "}") else { return nil }
                i += 1
                return .object(members)
            }
        }

        private mutating func parseArray(depth: Int) -> Value? {
            i += 1
            var items: [Value] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            while true {
                guard let value = parseValue(depth: depth + 1) else { return nil }
                items.append(value)
                skipSpace()
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard bytes[i] == UInt8(ascii: "]") else { return nil }
                i += 1
                return .array(items)
            }
        }

        /// A string starting at `"`; escapes are decoded (`\u` surrogate pairs included).
        private mutating func parseString() -> String? {
            i += 1
            var out = ""
            var run = i
            while i < bytes.count {
                let b = bytes[i]
                guard b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else {
                    guard b >= 0x20 else { return nil }
                    i += 1
                    continue
                }
                guard let text = String(validating: bytes[run..<i], as: UTF8.self) else { return nil }
                out += text
                i += 1
                if b == UInt8(ascii: "\"") { return out }
                guard i < bytes.count, let scalar = parseEscape() else { return nil }
                out.unicodeScalars.append(scalar)
                run = i
            }
            return nil
        }

        private mutating func parseEscape() -> Unicode.Scalar? {
            let c = bytes[i]
            i += 1
            switch c {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                guard let high = parseHex4() else { return nil }
                if (0xD800..<0xDC00).contains(high) {
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"),
                        bytes[i + 1] == UInt8(ascii: "u")
                    else {
                        return nil
                    }
                    i += 2
                    guard let low = parseHex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                    return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                }
                return Unicode.Scalar(high)
            default:
                return nil
            }
        }

        private mutating func parseHex4() -> UInt32? {
            guard i + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for b in bytes[i..<(i + 4)] {
                guard let digit = Character(Unicode.Scalar(b)).hexDigitValue else { return nil }
                value = value << 4 | UInt32(digit)
            }
            i += 4
            return value
        }

        /// Numbers, `true`, `false`, `null`, `NaN`, `Infinity`, `-Infinity`: skipped.
        private mutating func parseScalar() -> Value? {
            let start = i
            while i < bytes.count {
                let b = bytes[i]
                let isScalarByte =
                    (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                    || (b | 0x20 >= UInt8(ascii: "a")
                        && b | 0x20 <= UInt8(ascii: "z"))
                    || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
                    || b == UInt8(ascii: ".")
                guard isScalarByte else { break }
                i += 1
            }
            return i > start ? .scalar : nil
        }
    }
}
