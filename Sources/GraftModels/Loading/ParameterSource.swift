import Foundation
import GraftCore
import GraftNN
import GraftTensor

/// How a parameter the checkpoint lacks (or a model built without one) is initialized.
public enum Initializer: Sendable {
    case zeros
    case ones
    /// U(−bound, bound).
    case uniform(bound: Float)
    /// N(0, std²).
    case normal(std: Float)

    /// torch's default for Conv2d/Linear weights and biases: U(±1/√fan_in).
    public static func torchDefault(fanIn: Int) -> Initializer { .uniform(bound: 1 / Float(max(fanIn, 1)).squareRoot()) }
    /// kaiming_normal_(mode="fan_out", nonlinearity="relu"): N(0, 2/fan_out), torchvision's conv init.
    public static func kaimingFanOut(_ fanOut: Int) -> Initializer { .normal(std: (2 / Float(max(fanOut, 1))).squareRoot()) }
}

/// One entry of a model's state dict, in the order torch lists it.
public enum StateEntry {
    case parameter(Parameter)
    case counter(Counter)

    public var name: String {
        switch self {
        case .parameter(let p): return p.name
        case .counter(let c): return c.name
        }
    }
}

/// Where a model's parameters come from: the tensors of a checkpoint (strict: every key used, every
/// shape equal) or fresh initialization (random weights for `bench`, new heads for fine-tuning).
///
/// Problems are collected rather than thrown one at a time, so `finish()` reports every missing,
/// unused and mis-shaped key of a checkpoint together.
public final class ParameterSource {
    private let tensors: [String: LazyTensor]
    private let sourceOrder: [String]
    private var used = Set<String>()
    private var problems: [LoadError.Problem] = []
    public let allowMissing: [Glob]
    public let ignore: [Glob]
    /// Keys the checkpoint lacked that were initialized because `allowMissing` matched them.
    public private(set) var initialized: [String] = []
    /// Every parameter and counter, in creation (= state dict) order.
    public private(set) var entries: [StateEntry] = []
    private var generator: SeededGenerator

    /// Parameters from checkpoint tensors (already renamed to the model's names).
    public init(tensors: [(name: String, tensor: LazyTensor)], allowMissing: [Glob] = [], ignore: [Glob] = [], seed: UInt64 = 0) {
        self.tensors = Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        self.sourceOrder = tensors.map(\.name)
        self.allowMissing = allowMissing
        self.ignore = ignore
        self.generator = SeededGenerator(seed: seed)
    }

    /// Fresh parameters only (every key initialized).
    public static func initializing(seed: UInt64) -> ParameterSource {
        ParameterSource(tensors: [], allowMissing: [Glob("*")], seed: seed)
    }

    /// A parameter: read from the checkpoint with its shape checked, or initialized when allowed.
    func parameter(_ name: String, shape: [Int], kind: Parameter.Kind, initializer: Initializer) -> Parameter {
        let value: Tensor
        if let lazy = tensors[name] {
            used.insert(name)
            if lazy.shape != shape {
                problems.append(.shapeMismatch(key: name, expected: shape, found: lazy.shape))
                value = Self.zeros(shape)
            } else {
                do {
                    value = try Tensor(shape: shape, values: try lazy.load().floatValues())
                } catch {
                    problems.append(.unreadable(key: name, reason: String(describing: error)))
                    value = Self.zeros(shape)
                }
            }
        } else {
            if !allowMissing.contains(where: { $0.matches(name) }) {
                problems.append(.missing(key: name, shape: shape))
            } else if !tensors.isEmpty {
                initialized.append(name)
            }
            value = initialize(shape, initializer)
        }
        let p = Parameter(name: name, kind: kind, value: value)
        entries.append(.parameter(p))
        return p
    }

    /// BatchNorm's `num_batches_tracked`. torch tolerates checkpoints without it (it predates 0.4.1),
    /// and so does Graft: a missing counter starts at 0.
    func counter(_ name: String) -> Counter {
        var value: Int64 = 0
        if let lazy = tensors[name] {
            used.insert(name)
            if let raw = try? lazy.load(), raw.elementCount == 1 {
                value = raw.dtype == .int64
                    ? raw.data.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) } : Int64(raw.floatValues()[0])
            } else {
                problems.append(.unreadable(key: name, reason: "not a scalar"))
            }
        }
        let c = Counter(name: name, value: value)
        entries.append(.counter(c))
        return c
    }

    /// Throws a `LoadError` if any key was missing, mis-shaped, unreadable or (not ignored) unused.
    public func finish(arch: String) throws {
        var all = problems
        for name in sourceOrder where !used.contains(name) && !ignore.contains(where: { $0.matches(name) }) {
            all.append(.unused(key: name, shape: tensors[name]?.shape ?? []))
        }
        if !all.isEmpty { throw LoadError(arch: arch, problems: all) }
    }

    private static func zeros(_ shape: [Int]) -> Tensor {
        (try? Tensor(shape: shape)) ?? (try! Tensor(shape: [0]))
    }

    private func initialize(_ shape: [Int], _ initializer: Initializer) -> Tensor {
        let n = Checked.elementCount(shape) ?? 0
        var values = [Float](repeating: 0, count: n)
        switch initializer {
        case .zeros: break
        case .ones: values = [Float](repeating: 1, count: n)
        case .uniform(let bound):
            for i in 0..<n { values[i] = (generator.nextUnitFloat() * 2 - 1) * bound }
        case .normal(let std):
            // Box–Muller, two values per pair of uniforms.
            var i = 0
            while i < n {
                let u1 = max(Double(generator.nextUnitFloat()), 1e-12), u2 = Double(generator.nextUnitFloat())
                let r = (-2 * log(u1)).squareRoot()
                values[i] = Float(r * cos(2 * .pi * u2)) * std
                if i + 1 < n { values[i + 1] = Float(r * sin(2 * .pi * u2)) * std }
                i += 2
            }
        }
        return (try? Tensor(shape: shape, values: values)) ?? Self.zeros(shape)
    }
}
