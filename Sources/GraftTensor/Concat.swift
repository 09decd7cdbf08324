/// Channel concatenation of NCHW (or `[N, C]`) tensors, `torch.cat(xs, dim=1)`, and its inverse for
/// the backward pass.
public func concatChannels(_ xs: [Tensor]) throws -> Tensor {
    guard let first = xs.first, first.rank >= 2 else { throw TensorError.invalidShape(op: "concatChannels", shape: xs.first?.shape ?? []) }
    let n = first.shape[0], rest = Array(first.shape.dropFirst(2))
    for x in xs where x.rank != first.rank || x.shape[0] != n || Array(x.shape.dropFirst(2)) != rest {
        throw TensorError.shapeMismatch(op: "concatChannels", detail: "cannot concatenate \(x.shape) with \(first.shape)")
    }
    let plane = rest.reduce(1, *)
    let channels = xs.map { $0.shape[1] }, total = channels.reduce(0, +)
    var out = Tensor(kernelShape: [n, total] + rest)
    let dst = out.mutablePointer()
    withExtendedLifetime(xs) {
        var offset = 0
        for (x, c) in zip(xs, channels) {
            let src = x.pointer, block = c * plane
            for i in 0..<n { (dst + (i * total + offset) * plane).update(from: src + i * block, count: block) }
            offset += c
        }
    }
    return out
}

/// Splits ∂L/∂output of `concatChannels` back into the inputs' gradients (`sizes` channels each).
public func splitChannels(_ g: Tensor, sizes: [Int]) throws -> [Tensor] {
    guard g.rank >= 2, sizes.reduce(0, +) == g.shape[1], sizes.allSatisfy({ $0 >= 0 }) else {
        throw TensorError.shapeMismatch(op: "splitChannels", detail: "cannot split \(g.shape) into \(sizes) channels")
    }
    let n = g.shape[0], rest = Array(g.shape.dropFirst(2)), plane = rest.reduce(1, *), total = g.shape[1]
    var outs: [Tensor] = []
    var offset = 0
    withExtendedLifetime(g) {
        let src = g.pointer
        for c in sizes {
            var part = Tensor(kernelShape: [n, c] + rest)
            let dst = part.mutablePointer(), block = c * plane
            for i in 0..<n { (dst + i * block).update(from: src + (i * total + offset) * plane, count: block) }
            outs.append(part)
            offset += c
        }
    }
    return outs
}
