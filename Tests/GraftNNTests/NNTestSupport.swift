import GraftCore
import GraftNN
import GraftTensor

/// A small tree with every kind of node the zoo uses: a conv-norm-activation run, a residual block
/// with a projection shortcut, a concatenation of branches (one with dropout), pooling and a head.
///
///     0 Conv2d(3→4, 3×3)  1 BatchNorm2d  2 ReLU
///     3 Residual(body: Sequential(0 Conv2d(4→4, 3×3), 1 BatchNorm2d), shortcut: Conv2d(4→4, 1×1))
///     4 Concat(0 Conv2d(4→2, 1×1), 1 Sequential(0 Conv2d(4→3, 1×1), 1 Dropout))
///     5 AdaptiveAvgPool2d(1)  6 Flatten  7 Linear(5→3)
func smallTree() -> Sequential {
    Sequential(
        Conv2d(3, 4, kernelSize: 3, padding: 1, bias: false), BatchNorm2d(4), ReLU(),
        Residual(Sequential(Conv2d(4, 4, kernelSize: 3, padding: 1), BatchNorm2d(4)),
                 shortcut: Conv2d(4, 4, kernelSize: 1, bias: false), activation: .relu),
        Concat([Conv2d(4, 2, kernelSize: 1), Sequential(Conv2d(4, 3, kernelSize: 1), Dropout(0.5))]),
        AdaptiveAvgPool2d(1), Flatten(), Linear(5, 3))
}

/// Uniform values in [−scale, scale) from a seeded stream.
func randomValues(_ count: Int, scale: Float = 1, _ rng: inout SeededGenerator) -> [Float] {
    (0..<count).map { _ in (rng.nextUnitFloat() * 2 - 1) * scale }
}

func randomTensor(_ shape: [Int], scale: Float = 1, _ rng: inout SeededGenerator) throws -> Tensor {
    try Tensor(shape: shape, values: randomValues(shape.reduce(1, *), scale: scale, &rng))
}

/// Gives every BatchNorm2d of `module` non-trivial statistics and affine parameters, so folding them
/// into a convolution is really exercised.
func randomizeNorms(_ module: Module, _ rng: inout SeededGenerator) throws {
    for case let norm as BatchNorm2d in module.namedModules().map(\.module) {
        let c = norm.numFeatures
        norm.weight.value = try Tensor(shape: [c], values: randomValues(c, &rng).map { 1 + 0.5 * $0 })
        norm.bias.value = try randomTensor([c], scale: 0.5, &rng)
        norm.runningMean.value = try randomTensor([c], scale: 0.5, &rng)
        norm.runningVar.value = try Tensor(shape: [c], values: randomValues(c, &rng).map { 1 + 0.8 * $0 })
    }
}

/// A float32 tensor of a state dict.
func rawFloat(_ shape: [Int], _ values: [Float]) throws -> RawTensor {
    try values.withUnsafeBytes { try RawTensor(dtype: .float32, shape: shape, data: ByteBuffer(copying: $0)) }
}
