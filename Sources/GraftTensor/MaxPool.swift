/// The output of a max pool that remembers where each maximum came from (for the backward pass).
public struct MaxPoolResult: Equatable {
    /// The pooled values (N, C, outH, outW).
    public var output: Tensor
    /// For each output element, the flat index `ih · W + iw` of its maximum within its input plane
    /// (torch's `return_indices` convention); -1 for a window that covers no input element.
    public var indices: [Int32]
}

/// Max pooling for inference (no indices), as `torch.nn.functional.max_pool2d`: padding acts as −∞,
/// a NaN in a window wins, windows may be dilated, `ceilMode` rounds the output size up.
public func maxPool2d(_ x: Tensor, _ params: Pool2dParams) throws -> Tensor {
    let g = try PoolGeometry(op: "maxPool2d", shape: x.shape, params)
    let p = params
    if p.dilationH != 1 || p.dilationW != 1 || p.strideW > 2 {
        return try maxPool2dWithIndices(x, params).output
    }
    var out = Tensor(kernelShape: [x.shape[0], x.shape[1], g.outH, g.outW])
    let dst = out.mutablePointer()
    // Row of vertical maxima with −∞ borders.
    let rowWidth = g.paddedRowWidth
    withExtendedLifetime(x) {
        let src = x.pointer
        Parallel.forRanges(g.planes, grain: max(1, 8192 / max(g.inH * g.inW, 1))) { planes in
            let row = Scratch.buffer(.plane, count: rowWidth)
            row.update(repeating: -.infinity, count: rowWidth)
            for plane in planes {
                let input = src + plane * g.inH * g.inW
                let output = dst + plane * g.outH * g.outW
                for oh in 0..<g.outH {
                    let h0 = oh * p.strideH - p.padH
                    let lo = max(h0, 0), hi = min(h0 + p.kernelH, g.inH)
                    let body = row + p.padW
                    body.update(from: input + lo * g.inW, count: g.inW)
                    for ih in (lo + 1)..<max(hi, lo + 1) {
                        map2(body, input + ih * g.inW, body, g.inW) { Lanes.maxPropagatingNaN($0, $1) }
                    }
                    horizontalMax(row, output + oh * g.outW, g.outW, p)
                }
            }
        }
    }
    return out
}

/// out[ow] = max over j < kW of row[ow·sW + j] (the row already includes the left padding).
@inline(__always)
private func horizontalMax(_ row: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ count: Int,
                           _ p: Pool2dParams) {
    var ow = 0
    while ow < count {
        let base = row + ow * p.strideW
        var m: Vec8
        if p.strideW == 1 {
            m = loadVec8(base)
            for j in 1..<max(p.kernelW, 1) { m = Lanes.maxPropagatingNaN(m, loadVec8(base + j)) }
        } else {
            m = UnsafeRawPointer(base).loadUnaligned(as: SIMD16<Float>.self).evenHalf
            for j in 1..<max(p.kernelW, 1) {
                let wide = UnsafeRawPointer(base + j).loadUnaligned(as: SIMD16<Float>.self)
                m = Lanes.maxPropagatingNaN(m, wide.evenHalf)
            }
        }
        let valid = min(8, count - ow)
        if valid == 8 {
            storeVec8(m, out + ow)
        } else {
            for lane in 0..<valid { out[ow + lane] = m[lane] }
        }
        ow += 8
    }
}

/// Gradient of max pooling: each output's gradient goes to the input element it came from
/// (summed where windows overlap).
/// - Parameters:
///   - gradOutput: (N, C, outH, outW).
///   - indices: `MaxPoolResult.indices` of the forward call.
///   - inputShape: the forward input's shape (N, C, H, W).
public func maxPool2dBackward(gradOutput: Tensor, indices: [Int32], inputShape: [Int]) throws -> Tensor {
    try checkRank("maxPool2dBackward", "gradOutput", gradOutput, 4)
    guard inputShape.count == 4, inputShape[0] == gradOutput.shape[0], inputShape[1] == gradOutput.shape[1],
          indices.count == gradOutput.count
    else {
        throw TensorError.shapeMismatch(
            op: "maxPool2dBackward",
            detail: "gradOutput \(gradOutput.shape), \(indices.count) indices, input shape \(inputShape)")
    }
    let planeIn = try Tensor.elementCount(Array(inputShape.dropFirst(2)), op: "maxPool2dBackward")
    let planeOut = gradOutput.shape[2] * gradOutput.shape[3]
    var dx = try Tensor(shape: inputShape)
    let dst = dx.mutablePointer()
    // Planes are independent (indices point inside their own plane): split them across threads.
    let bad = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    defer { bad.deallocate() }
    bad.initialize(to: 0)
    indices.withUnsafeBufferPointer { idxBuffer in
        guard let idx = idxBuffer.baseAddress else { return }
        withExtendedLifetime(gradOutput) {
            let dy = gradOutput.pointer
            Parallel.forRanges(inputShape[0] * inputShape[1], grain: max(1, 8192 / max(planeOut, 1))) { planes in
                for plane in planes {
                    let grad = dy + plane * planeOut, argmax = idx + plane * planeOut
                    let target = dst + plane * planeIn
                    for j in 0..<planeOut {
                        let i = argmax[j]
                        if i == -1 { continue }  // a window with no input element
                        guard i >= 0, Int(i) < planeIn else {
                            bad.pointee = i  // any one offending index is enough to report
                            continue
                        }
                        target[Int(i)] += grad[j]
                    }
                }
            }
        }
    }
    if bad.pointee != 0 {
        throw TensorError.invalidArgument(
            op: "maxPool2dBackward", detail: "index \(bad.pointee) outside a plane of \(planeIn)")
    }
    return dx
}
