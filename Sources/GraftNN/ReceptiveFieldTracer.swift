import GraftTensor

/// The input pixels one value of an activation can depend on, per axis (height, width): the window
/// size (`size`) and the distance in input pixels between neighbouring values (`jump`, the product
/// of the strides before it).
public struct ReceptiveField: Sendable, Equatable, Codable {
    public var size: [Int]
    public var jump: [Int]

    public static let pixel = ReceptiveField(size: [1, 1], jump: [1, 1])

    /// After a window of `kernel` taps `dilation` apart, moving `stride` values at a time:
    /// r += (k − 1)·d·jump, jump *= stride.
    func through(kernel: (Int, Int), stride: (Int, Int), dilation: (Int, Int)) -> ReceptiveField {
        ReceptiveField(size: [size[0] + (kernel.0 - 1) * dilation.0 * jump[0], size[1] + (kernel.1 - 1) * dilation.1 * jump[1]],
                       jump: [jump[0] * stride.0, jump[1] * stride.1])
    }

    /// The larger window per axis: where branches meet (a sum, a concatenation), a value sees what
    /// either branch saw.
    func union(_ other: ReceptiveField) -> ReceptiveField {
        ReceptiveField(size: [max(size[0], other.size[0]), max(size[1], other.size[1])],
                       jump: [max(jump[0], other.jump[0]), max(jump[1], other.jump[1])])
    }
}

/// Follows one forward and gives every module's output its receptive field.
///
/// A module's output field comes from its input's: convolutions and pools widen it, every other
/// leaf keeps it. An activation made between modules — a residual sum, a concatenation, a channel
/// split — is not seen being made; it takes the union of everything computed so far inside the
/// module call that made it, which is the maximum over the branches that meet there (a branch
/// computed but not used would overstate it; ReceptiveFieldProbeTests measures the zoo's fields on
/// the networks themselves).
/// Global pooling ends the spatial field: what follows has none (squeeze-excitation's gates scale
/// channels and leave the field of the values they scale unchanged).
final class ReceptiveFieldTracer: ForwardTracer {
    /// Fields of the activations seen so far, by storage; the tensors are kept so that a storage
    /// address is never reused for another activation during the trace.
    private var known: [ObjectIdentifier: (tensor: Tensor, field: ReceptiveField?)] = [:]
    /// For each open module call, the fields computed inside it so far (its input's first).
    private var frames: [[ReceptiveField]]
    private(set) var outputFields: [ObjectIdentifier: ReceptiveField] = [:]
    /// The module that finished last with a spatial output (more than one position, not an
    /// adaptive pool): the producer of the last feature map before global pooling.
    private(set) var lastFeatureMap: Module?

    init(input: Tensor) {
        known[input.storageID] = (input, .pixel)
        frames = [[.pixel]]
    }

    private func field(of x: Tensor) -> ReceptiveField? {
        if let entry = known[x.storageID] { return entry.field }
        return Self.union(frames.last ?? [])
    }

    func willRun(_ module: Module, input: Tensor) {
        frames.append(field(of: input).map { [$0] } ?? [])
    }

    func didRun(_ module: Module, input: Tensor, output: Tensor) {
        let inside = frames.removeLast()
        let field: ReceptiveField?
        if module.namedChildren.isEmpty {
            field = inside.first.flatMap { Self.leaf(module, $0, input: input, output: output) }
        } else if let entry = known[output.storageID] {
            field = entry.field
        } else {
            field = Self.union(inside)
        }
        known[output.storageID] = (output, field)
        if let field {
            outputFields[ObjectIdentifier(module)] = field
            frames[frames.count - 1].append(field)
            if output.rank == 4, output.shape[2] * output.shape[3] > 1, !(module is AdaptiveAvgPool2d) { lastFeatureMap = module }
        }
    }

    private static func union(_ fields: [ReceptiveField]) -> ReceptiveField? {
        guard let first = fields.first else { return nil }
        return fields.dropFirst().reduce(first) { $0.union($1) }
    }

    /// A leaf's output field from its input's.
    private static func leaf(_ m: Module, _ f: ReceptiveField, input: Tensor, output: Tensor) -> ReceptiveField? {
        switch m {
        case let conv as Conv2d:
            return f.through(kernel: (conv.kernelSize.h, conv.kernelSize.w), stride: (conv.stride.h, conv.stride.w),
                             dilation: (conv.dilation.h, conv.dilation.w))
        case let pool as MaxPool2d:
            let p = pool.params
            return f.through(kernel: (p.kernelH, p.kernelW), stride: (p.strideH, p.strideW), dilation: (p.dilationH, p.dilationW))
        case let pool as AvgPool2d:
            let p = pool.params
            return f.through(kernel: (p.kernelH, p.kernelW), stride: (p.strideH, p.strideW), dilation: (1, 1))
        case is AdaptiveAvgPool2d:
            guard input.rank == 4, output.rank == 4 else { return f }
            let (inH, inW, outH, outW) = (input.shape[2], input.shape[3], output.shape[2], output.shape[3])
            if outH == 1 && outW == 1 && inH * inW > 1 { return nil }
            // PyTorch's windows: [⌊i·in/out⌋, ⌈(i+1)·in/out⌉), at most ⌈in/out⌉ + 1 wide.
            func window(_ n: Int, _ m: Int) -> (Int, Int) {
                var widest = 1
                for i in 0..<m {
                    let start = (i * n) / m, end = ((i + 1) * n + m - 1) / m
                    widest = max(widest, end - start)
                }
                return (widest, max(1, n / m))
            }
            let (h, w) = (window(inH, outH), window(inW, outW))
            return f.through(kernel: (h.0, w.0), stride: (h.1, w.1), dilation: (1, 1))
        default:
            return f
        }
    }
}
