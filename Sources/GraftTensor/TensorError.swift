/// Why a tensor operation refused its arguments.
///
/// Kernels are compiled with `-Ounchecked`, where `precondition` is not evaluated, so every shape
/// contract is checked explicitly and reported with the operation's name instead of trapping or
/// touching memory out of bounds.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// A shape with a negative dimension, or whose element count overflows `Int`.
    case invalidShape(op: String, shape: [Int])
    /// `values.count` (or a reshape target) does not match the shape's element count.
    case countMismatch(op: String, shape: [Int], count: Int)
    /// An operand has the wrong number of dimensions.
    case rankMismatch(op: String, operand: String, expected: Int, shape: [Int])
    /// Operand shapes do not fit together; `detail` names the dimensions involved.
    case shapeMismatch(op: String, detail: String)
    /// A scalar argument (stride, kernel size, probability, …) is out of its valid range.
    case invalidArgument(op: String, detail: String)
    /// A class label is outside `0..<classes`.
    case labelOutOfRange(op: String, sample: Int, label: Int, classes: Int)

    /// One line naming the operation and the reason.
    public var description: String {
        switch self {
        case .invalidShape(let op, let shape):
            return "\(op): invalid shape \(shape) (negative dimension or element count overflows)"
        case .countMismatch(let op, let shape, let count):
            return "\(op): shape \(shape) does not hold \(count) elements"
        case .rankMismatch(let op, let operand, let expected, let shape):
            return "\(op): \(operand) must have \(expected) dimensions, got shape \(shape)"
        case .shapeMismatch(let op, let detail):
            return "\(op): shape mismatch: \(detail)"
        case .invalidArgument(let op, let detail):
            return "\(op): invalid argument: \(detail)"
        case .labelOutOfRange(let op, let sample, let label, let classes):
            return "\(op): label \(label) of sample \(sample) is outside 0..<\(classes)"
        }
    }
}
