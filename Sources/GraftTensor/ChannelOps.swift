// Channel-range and channel-permutation kernels on NCHW (or any (N, C, …)) tensors: the slices, writes
// and shuffles of DenseNet's growing feature buffer and ShuffleNet's split / concatenate / shuffle, each
// with its backward. Every kernel copies whole (n, c) planes, split across cores.

/// `x[:, range]` as a contiguous tensor (`x[:, a:b].contiguous()`, one piece of `torch.chunk`).
public func sliceChannels(_ x: Tensor, _ range: Range<Int>) throws -> Tensor {
    let (n, c, plane) = try channelShapes("sliceChannels", x)
    guard range.lowerBound >= 0, range.upperBound <= c else {
        throw TensorError.invalidArgument(op: "sliceChannels", detail: "channels \(range) of a tensor with \(c)")
    }
    var shape = x.shape
    shape[1] = range.count
    var out = Tensor(kernelShape: shape)
    let dst = out.mutablePointer(), width = range.count
    withExtendedLifetime(x) {
        let src = x.pointer
        copyPlanes(rows: n * width, plane: plane) { row in
            let i = row / width, ch = row % width
            return (src + ((i * c) + range.lowerBound + ch) * plane, dst + row * plane)
        }
    }
    return out
}

/// `dst[:, offset ..< offset + C_src] = src`: writes a tensor into a channel range of a wider one
/// (a dense layer's new features into its block's buffer). `dst` is copied first only if shared.
public func writeChannels(_ dst: inout Tensor, _ src: Tensor, at offset: Int) throws {
    let (n, c, plane, width) = try channelRangeShapes("writeChannels", dst, src, offset)
    let d = dst.mutablePointer()
    withExtendedLifetime(src) {
        let s = src.pointer
        copyPlanes(rows: n * width, plane: plane) { row in
            let i = row / width, ch = row % width
            return (s + row * plane, d + (i * c + offset + ch) * plane)
        }
    }
}

/// `dst[:, offset ..< offset + C_src] += src` (gradients flowing back into a channel range).
public func addChannels(_ dst: inout Tensor, _ src: Tensor, at offset: Int) throws {
    let (n, c, plane, width) = try channelRangeShapes("addChannels", dst, src, offset)
    let d = dst.mutablePointer()
    withExtendedLifetime(src) {
        let s = src.pointer
        Parallel.forRanges(n * width, grain: max(1, 16384 / max(plane, 1))) { rows in
            for row in rows {
                let i = row / width, ch = row % width
                let to = d + (i * c + offset + ch) * plane
                map2(to, s + row * plane, to, plane) { $0 + $1 }
            }
        }
    }
}

/// `channel_shuffle(torch.cat(parts, 1), groups)` in one pass: the concatenation of the channel ranges
/// `parts` (C channels in all), viewed as (groups, C / groups), transposed and flattened — output
/// channel `i · groups + k` is input channel `k · (C / groups) + i`. ShuffleNet V2 concatenates its
/// two branches (or the untouched half of the input and one branch) and shuffles with groups 2.
public func shuffleConcatChannels(_ parts: [(tensor: Tensor, channels: Range<Int>)], groups: Int) throws -> Tensor {
    guard let first = parts.first?.tensor else { throw TensorError.invalidArgument(op: "shuffleConcatChannels", detail: "no inputs") }
    let (n, _, plane) = try channelShapes("shuffleConcatChannels", first)
    for (t, r) in parts {
        guard t.rank == first.rank, t.shape[0] == n, Array(t.shape.dropFirst(2)) == Array(first.shape.dropFirst(2)),
              r.lowerBound >= 0, r.upperBound <= t.shape[1] else {
            throw TensorError.shapeMismatch(op: "shuffleConcatChannels", detail: "cannot concatenate channels \(r) of \(t.shape) with \(first.shape)")
        }
    }
    let total = parts.reduce(0) { $0 + $1.channels.count }
    guard groups >= 1, total % groups == 0 else {
        throw TensorError.invalidArgument(op: "shuffleConcatChannels", detail: "\(total) channels in \(groups) groups")
    }
    // The (part, channel) behind each concatenated channel.
    var source: [(part: Int, channel: Int)] = []
    source.reserveCapacity(total)
    for (p, (_, r)) in parts.enumerated() { for ch in r { source.append((p, ch)) } }
    let perGroup = total / groups
    var shape = first.shape
    shape[1] = total
    var out = Tensor(kernelShape: shape)
    let dst = out.mutablePointer()
    let tensors = parts.map(\.tensor)
    withExtendedLifetime(tensors) {
        let pointers = tensors.map(\.pointer), widths = tensors.map { $0.shape[1] }
        copyPlanes(rows: n * total, plane: plane) { row in
            let i = row / total, j = row % total
            let s = source[(j % groups) * perGroup + j / groups]
            return (pointers[s.part] + (i * widths[s.part] + s.channel) * plane, dst + row * plane)
        }
    }
    return out
}

/// The gradients of `shuffleConcatChannels` for parts of `sizes` channels: the shuffle undone and
/// the result split.
public func shuffleConcatChannelsBackward(_ g: Tensor, sizes: [Int], groups: Int) throws -> [Tensor] {
    let (n, total, plane) = try channelShapes("shuffleConcatChannelsBackward", g)
    guard sizes.reduce(0, +) == total, sizes.allSatisfy({ $0 >= 0 }), groups >= 1, total % groups == 0 else {
        throw TensorError.shapeMismatch(op: "shuffleConcatChannelsBackward", detail: "cannot split \(g.shape) into \(sizes) in \(groups) groups")
    }
    let perGroup = total / groups
    var outs: [Tensor] = []
    var offset = 0
    withExtendedLifetime(g) {
        let src = g.pointer
        for size in sizes {
            var shape = g.shape
            shape[1] = size
            var part = Tensor(kernelShape: shape)
            let dst = part.mutablePointer(), start = offset
            copyPlanes(rows: n * size, plane: plane) { row in
                let i = row / size, c = start + row % size
                // Concatenated channel c = k · perGroup + q went to output channel q · groups + k.
                let j = (c % perGroup) * groups + c / perGroup
                return (src + (i * total + j) * plane, dst + row * plane)
            }
            outs.append(part)
            offset += size
        }
    }
    return outs
}

/// torchvision's `channel_shuffle(x, groups)`.
public func channelShuffle(_ x: Tensor, groups: Int) throws -> Tensor {
    guard x.rank >= 2 else { throw TensorError.invalidShape(op: "channelShuffle", shape: x.shape) }
    return try shuffleConcatChannels([(x, 0..<x.shape[1])], groups: groups)
}

/// The gradient of `channelShuffle`: the inverse permutation.
public func channelShuffleBackward(_ g: Tensor, groups: Int) throws -> Tensor {
    guard g.rank >= 2 else { throw TensorError.invalidShape(op: "channelShuffleBackward", shape: g.shape) }
    return try shuffleConcatChannelsBackward(g, sizes: [g.shape[1]], groups: groups)[0]
}

/// Eval-mode BatchNorm (and an activation) of the channel range `channels` of a wider tensor:
/// `y[n, c] = act(x[n, channels.lowerBound + c] · scale[c] + shift[c])`, contiguous. A dense layer
/// normalizes the leading channels of its block's feature buffer without copying them out first.
public func batchNormInference(_ x: Tensor, channels: Range<Int>, scale: Tensor, shift: Tensor,
                               activation kind: Activation = .none) throws -> Tensor {
    let (n, c, plane) = try channelShapes("batchNormInference", x)
    guard channels.lowerBound >= 0, channels.upperBound <= c else {
        throw TensorError.invalidArgument(op: "batchNormInference", detail: "channels \(channels) of a tensor with \(c)")
    }
    let width = channels.count
    try checkShape("batchNormInference", "scale", scale, [width])
    try checkShape("batchNormInference", "shift", shift, [width])
    var shape = x.shape
    shape[1] = width
    var out = Tensor(kernelShape: shape)
    let dst = out.mutablePointer()
    withExtendedLifetime((x, scale, shift)) {
        let src = x.pointer, sc = scale.pointer, sh = shift.pointer
        Parallel.forRanges(n * width, grain: max(1, 16384 / max(plane, 1))) { rows in
            let inline = ActivationKernels.inline(kind)
            for row in rows {
                let i = row / width, ch = row % width
                let k = sc[ch], b = sh[ch]
                map(src + (i * c + channels.lowerBound + ch) * plane, dst + row * plane, plane) { activated($0 * k + b, inline) }
                ActivationKernels.finish(kind, dst + row * plane, plane)
            }
        }
    }
    return out
}

// MARK: - Helpers

private func channelShapes(_ op: String, _ x: Tensor) throws -> (n: Int, c: Int, plane: Int) {
    guard x.rank >= 2 else { throw TensorError.invalidShape(op: op, shape: x.shape) }
    return (x.shape[0], x.shape[1], x.shape.dropFirst(2).reduce(1, *))
}

private func channelRangeShapes(_ op: String, _ dst: Tensor, _ src: Tensor, _ offset: Int) throws -> (Int, Int, Int, Int) {
    let (n, c, plane) = try channelShapes(op, dst)
    guard src.rank == dst.rank, src.shape[0] == n, Array(src.shape.dropFirst(2)) == Array(dst.shape.dropFirst(2)),
          offset >= 0, offset + src.shape[1] <= c else {
        throw TensorError.shapeMismatch(op: op, detail: "cannot place \(src.shape) at channel \(offset) of \(dst.shape)")
    }
    return (n, c, plane, src.shape[1])
}

/// Copies `rows` planes of `plane` floats, `locate(row)` giving each one's source and destination.
@inline(__always)
private func copyPlanes(rows: Int, plane: Int, _ locate: (Int) -> (UnsafePointer<Float>, UnsafeMutablePointer<Float>)) {
    Parallel.forRanges(rows, grain: max(1, 32768 / max(plane, 1))) { r in
        for row in r {
            let (s, d) = locate(row)
            d.update(from: s, count: plane)
        }
    }
}
