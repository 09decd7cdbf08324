import GraftCore

/// A layout change Graft applies to a Keras weight so it matches PyTorch's (and Graft's) layout.
public struct KerasLayoutChange: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Conv kernel `(*spatial, in/groups, out)` → `(out, in/groups, *spatial)` (HWIO → OIHW).
        case convToOIHW = "conv kernel HWIO → OIHW"
        /// Depthwise kernel `(kh, kw, in, mult)` → `(in·mult, 1, kh, kw)` (1-D likewise).
        case depthwiseToOIHW = "depthwise kernel (kh, kw, in, mult) → (in·mult, 1, kh, kw)"
        /// Dense kernel `(in, out)` → `(out, in)`.
        case denseToOutIn = "dense kernel (in, out) → (out, in)"
    }

    /// The flat name of the tensor (`conv1_conv/kernel`).
    public let tensor: String
    public let kind: Kind
    /// The shape as stored.
    public let from: [Int]
    /// The shape after the change.
    public let to: [Int]

    /// One line: `conv1_conv/kernel: conv kernel HWIO → OIHW [7, 7, 3, 64] → [64, 3, 7, 7]`.
    public var description: String { "\(tensor): \(kind.rawValue) \(from) → \(to)" }
}

/// The permutations behind `KerasLayoutChange`.
enum KerasLayout {
    /// The change a weight of `className` called `name` with `shape` needs, or nil; throws if the
    /// rank does not fit the class.
    static func change(
        className: String?, weight name: String, shape: [Int], tensor: String
    ) throws -> KerasLayoutChange? {
        guard let className = className else { return nil }
        let kind: KerasLayoutChange.Kind
        let expectedRank: Int
        switch (className, name) {
        case ("Dense", "kernel"):
            (kind, expectedRank) = (.denseToOutIn, 2)
        case ("Conv1D", "kernel"):
            (kind, expectedRank) = (.convToOIHW, 3)
        case ("Conv2D", "kernel"), ("SeparableConv2D", "pointwise_kernel"):
            (kind, expectedRank) = (.convToOIHW, 4)
        case ("Conv3D", "kernel"):
            (kind, expectedRank) = (.convToOIHW, 5)
        case ("SeparableConv1D", "pointwise_kernel"):
            (kind, expectedRank) = (.convToOIHW, 3)
        case ("DepthwiseConv1D", "depthwise_kernel"), ("SeparableConv1D", "depthwise_kernel"):
            (kind, expectedRank) = (.depthwiseToOIHW, 3)
        case ("DepthwiseConv2D", "depthwise_kernel"), ("SeparableConv2D", "depthwise_kernel"):
            (kind, expectedRank) = (.depthwiseToOIHW, 4)
        default:
            return nil
        }
        guard shape.count == expectedRank else {
            throw KerasError.weightShape(
                tensor: tensor, shape: shape, expected: "\(expectedRank) dimensions for \(className)")
        }
        let permutation = self.permutation(kind, rank: expectedRank)
        var to = permutation.map { shape[$0] }
        if kind == .depthwiseToOIHW {
            // (in, mult, *spatial) → (in·mult, 1, *spatial): a reshape, the bytes do not move.
            guard let channels = Checked.mul(to[0], to[1]) else {
                throw KerasError.weightShape(
                    tensor: tensor, shape: shape, expected: "a channel count that fits Int")
            }
            to[0] = channels
            to[1] = 1
        }
        return KerasLayoutChange(tensor: tensor, kind: kind, from: shape, to: to)
    }

    /// Output axis i takes input axis `permutation[i]`.
    static func permutation(_ kind: KerasLayoutChange.Kind, rank: Int) -> [Int] {
        switch kind {
        case .denseToOutIn: return [1, 0]
        case .convToOIHW, .depthwiseToOIHW: return [rank - 1, rank - 2] + Array(0..<(rank - 2))
        }
    }

    /// `raw` with `change` applied when loaded (raw bytes are read, then permuted once).
    static func apply(_ change: KerasLayoutChange, to raw: LazyTensor) -> LazyTensor {
        let permutation = self.permutation(change.kind, rank: change.from.count)
        return LazyTensor(dtype: raw.dtype, shape: change.to) {
            let source = try raw.load()
            return permute(
                source.data, shape: change.from, itemSize: source.dtype.itemSize, permutation: permutation)
        }
    }

    /// Transposes C-order bytes: output axis i is input axis `permutation[i]`.
    static func permute(_ input: ByteBuffer, shape: [Int], itemSize: Int, permutation: [Int]) -> ByteBuffer {
        let output = ByteBuffer(uninitializedCount: input.count)
        guard input.count > 0 else { return output }
        switch itemSize {
        case 2: permute(UInt16.self, input, output, shape, permutation)
        case 4: permute(UInt32.self, input, output, shape, permutation)
        case 8: permute(UInt64.self, input, output, shape, permutation)
        default: permute(UInt8.self, input, output, shape, permutation)
        }
        return output
    }

    private static func permute<T: FixedWidthInteger>(
        _: T.Type, _ input: ByteBuffer, _ output: ByteBuffer, _ shape: [Int], _ permutation: [Int]
    ) {
        // Dense (in, out) → (out, in) and depthwise (kh, kw, in, mult) → (in, mult, kh, kw) are both
        // a 2-D transpose of (leading axes, trailing axes); VGG's 411 MB fc1 needs it cache-friendly.
        let split = permutation.first ?? 0
        if split > 0, permutation == Array(split..<shape.count) + Array(0..<split) {
            let rows = shape[..<split].reduce(1, *)
            transpose(T.self, input, output, rows: rows, columns: input.count / MemoryLayout<T>.size / rows)
            return
        }
        let rank = shape.count
        var inputStrides = [Int](repeating: 1, count: rank)
        for axis in stride(from: rank - 2, through: 0, by: -1) {
            inputStrides[axis] = inputStrides[axis + 1] * shape[axis + 1]
        }
        let outShape = permutation.map { shape[$0] }
        let strides = permutation.map { inputStrides[$0] }  // input stride of each output axis
        let src = input.base.assumingMemoryBound(to: T.self)
        let dst = output.mutableBase.assumingMemoryBound(to: T.self)
        let innerCount = outShape[rank - 1]
        let innerStride = strides[rank - 1]
        let outerCount = input.count / MemoryLayout<T>.size / max(innerCount, 1)
        var index = [Int](repeating: 0, count: rank - 1)  // odometer over the outer output axes
        var sourceBase = 0
        var out = 0
        for _ in 0..<outerCount {
            var s = sourceBase
            for _ in 0..<innerCount {
                dst[out] = src[s]
                out += 1
                s += innerStride
            }
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                sourceBase += strides[axis]
                if index[axis] < outShape[axis] { break }
                sourceBase -= strides[axis] * outShape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    /// `output[c][r] = input[r][c]` in 32 × 32 tiles, so both sides stay in cache.
    private static func transpose<T: FixedWidthInteger>(
        _: T.Type, _ input: ByteBuffer, _ output: ByteBuffer, rows: Int, columns: Int
    ) {
        let src = input.base.assumingMemoryBound(to: T.self)
        let dst = output.mutableBase.assumingMemoryBound(to: T.self)
        let tile = 32
        for r0 in stride(from: 0, to: rows, by: tile) {
            let r1 = min(r0 + tile, rows)
            for c0 in stride(from: 0, to: columns, by: tile) {
                let c1 = min(c0 + tile, columns)
                for c in c0..<c1 {
                    let out = dst + c * rows
                    for r in r0..<r1 { out[r] = src[r * columns + c] }
                }
            }
        }
    }
}
