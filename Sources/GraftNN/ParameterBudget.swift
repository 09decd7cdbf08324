import Foundation

/// A cap on the elements that zero-filled parameters may take while a network is built from numbers an
/// untrusted file supplied (architecture detection builds candidates from widths read off a checkpoint's
/// shapes). Past the cap, parameters are left empty and `exceeded` says so; the caller discards the
/// network. Scoped to the building task (`ParameterBudget.$current.withValue`), so concurrent builds
/// elsewhere are untouched.
public final class ParameterBudget: @unchecked Sendable {
    public let limit: Int
    /// The network is built only for its parameters' names and shapes (architecture detection
    /// compares them with a checkpoint's): values are left uninitialized, so building a candidate
    /// touches none of its memory (zero-filling them was most of `graft inspect`'s time).
    public let shapesOnly: Bool
    private var used = 0
    private var over = false
    private let lock = NSLock()

    public init(elements limit: Int, shapesOnly: Bool = false) {
        self.limit = limit
        self.shapesOnly = shapesOnly
    }

    @TaskLocal public static var current: ParameterBudget?

    /// Whether some parameter did not fit.
    public var exceeded: Bool { lock.withLock { over } }

    /// Takes `count` elements from the budget; false (and `exceeded`) when they do not fit.
    func take(_ count: Int) -> Bool {
        lock.withLock {
            guard !over, count <= limit - used else { over = true; return false }
            used += count
            return true
        }
    }
}
