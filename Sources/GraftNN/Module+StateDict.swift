import GraftCore
import GraftTensor

/// What did not fit when a state dict was loaded into a module tree; all of it is collected so one
/// run names every missing, unexpected and mis-shaped key.
public enum LoadProblem: Equatable, Sendable, CustomStringConvertible {
    case missing(key: String, shape: [Int])
    case unused(key: String, shape: [Int])
    case shapeMismatch(key: String, expected: [Int], found: [Int])
    case unreadable(key: String, reason: String)

    public var description: String {
        // Keys come from the file: quoted safely and cut to 200 characters.
        func q(_ key: String) -> String { SafeText.quoted(key, quote: "'") }
        switch self {
        case .missing(let k, let s): return "missing key \(q(k)) (the model needs shape \(s))"
        case .unused(let k, let s): return "unused key \(q(k)) \(Array(s.prefix(8))) (the model has no such parameter)"
        case .shapeMismatch(let k, let e, let f): return "key \(q(k)) has shape \(Array(f.prefix(8))), the model needs \(e)"
        case .unreadable(let k, let r): return "key \(q(k)) could not be read: \(r)"
        }
    }
}

/// A state dict to load from: keys in their file order, each a raw tensor read on demand (so a
/// mapped checkpoint is read one tensor at a time).
public struct StateDictSource {
    public let keys: [String]
    public let shape: (String) -> [Int]?
    public let read: (String) throws -> RawTensor

    public init(keys: [String], shape: @escaping (String) -> [Int]?, read: @escaping (String) throws -> RawTensor) {
        self.keys = keys
        self.shape = shape
        self.read = read
    }

    /// From tensors in memory.
    public init(_ entries: [(name: String, tensor: RawTensor)]) {
        let byName = Dictionary(entries.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        self.init(keys: entries.map(\.name), shape: { byName[$0]?.shape }, read: { key in
            guard let t = byName[key] else { throw NNError.badArgument("no tensor '\(key)'") }
            return t
        })
    }
}

/// The outcome of `load(from:)`.
public struct LoadReport {
    public var problems: [LoadProblem] = []
    /// Parameters the source lacked that `allowMissing` let stand (to be initialized).
    public var missingAllowed: [(name: String, parameter: Parameter)] = []
    public var isClean: Bool { problems.isEmpty }
}

extension Module {
    /// The state dict: float32 parameters and buffers, int64 counters, in PyTorch's order and keys.
    public func stateDict() -> [(name: String, tensor: RawTensor)] {
        namedStateEntries().map { name, entry in
            switch entry {
            case .parameter(let p):
                let values = p.value.values
                let buffer = ByteBuffer(uninitializedCount: values.count * 4)
                values.withUnsafeBytes { if let base = $0.baseAddress { buffer.mutableBase.copyMemory(from: base, byteCount: $0.count) } }
                // The byte count equals the shape's by construction.
                return (name, try! RawTensor(dtype: .float32, shape: p.value.shape, data: buffer))
            case .counter(let c):
                var v = c.value.littleEndian
                return (name, try! RawTensor(dtype: .int64, shape: [], data: withUnsafeBytes(of: &v) { ByteBuffer(copying: $0) }))
            }
        }
    }

    /// Loads `source` into the tree (`load_state_dict`): every key of the model read with its shape
    /// checked; missing keys are problems unless `allowMissing` says so, unused ones unless `ignore`
    /// does. BatchNorm counters may be absent (checkpoints before torch 0.4.1 have none).
    public func load(from source: StateDictSource, allowMissing: (String) -> Bool = { _ in false },
                     ignore: (String) -> Bool = { _ in false }) -> LoadReport {
        var report = LoadReport()
        let present = Set(source.keys)
        var used = Set<String>()
        for (key, entry) in namedStateEntries() {
            guard present.contains(key) else {
                if case .parameter(let p) = entry {
                    if allowMissing(key) { report.missingAllowed.append((key, p)) } else {
                        report.problems.append(.missing(key: key, shape: p.value.shape))
                    }
                }
                continue
            }
            used.insert(key)
            do {
                switch entry {
                case .parameter(let p):
                    let found = source.shape(key) ?? []
                    guard found == p.value.shape else {
                        report.problems.append(.shapeMismatch(key: key, expected: p.value.shape, found: found))
                        continue
                    }
                    p.value = try Tensor(shape: found, values: try source.read(key).floatValues())
                case .counter(let c):
                    let raw = try source.read(key)
                    guard raw.elementCount == 1 else { throw NNError.badArgument("not a scalar") }
                    c.value = raw.dtype == .int64
                        ? Int64(littleEndian: raw.data.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) })
                        : Int64(exactly: raw.floatValues()[0].rounded()) ?? 0
                }
            } catch {
                report.problems.append(.unreadable(key: key, reason: String(describing: error)))
            }
        }
        for key in source.keys where !used.contains(key) && !ignore(key) {
            report.problems.append(.unused(key: key, shape: source.shape(key) ?? []))
        }
        return report
    }

    /// `load_state_dict(sd, strict=)`: throws `StateDictError` naming every problem. Not strict,
    /// missing and unused keys are let through and the missing ones returned; a mis-shaped or
    /// unreadable tensor still throws, as it does in torch.
    @discardableResult
    public func load(stateDict: [(name: String, tensor: RawTensor)], strict: Bool = true) throws -> [LoadProblem] {
        let report = load(from: StateDictSource(stateDict), allowMissing: { _ in !strict }, ignore: { _ in !strict })
        if !report.isClean { throw StateDictError(problems: report.problems) }
        return report.missingAllowed.map { .missing(key: $0.name, shape: $0.parameter.value.shape) }
    }
}

/// A state dict that does not fit a module tree.
public struct StateDictError: Error, CustomStringConvertible, Equatable {
    public let problems: [LoadProblem]

    public var description: String {
        let shown = problems.prefix(8).map(\.description).joined(separator: "; ")
        return "state dict does not match the model: \(shown)" + (problems.count > 8 ? "; … and \(problems.count - 8) more" : "")
    }
}
