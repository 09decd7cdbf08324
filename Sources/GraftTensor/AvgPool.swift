// Average pools: windowed (torch AvgPool2d), adaptive (AdaptiveAvgPool2d) and global.

/// The window of output `(oh, ow)` of an average pool as torch computes it: the divisor counts
/// the padded window (clipped to input + padding) when `countIncludePad`, else only real inputs.
@inline(__always)
private func avgWindow(_ g: PoolGeometry, _ oh: Int, _ ow: Int, countIncludePad: Bool)
    -> (h0: Int, h1: Int, w0: Int, w1: Int, divisor: Float) {
    let p = g.p
    var h0 = oh * p.strideH - p.padH, w0 = ow * p.strideW - p.padW
    var h1 = min(h0 + p.kernelH, g.inH + p.padH), w1 = min(w0 + p.kernelW, g.inW + p.padW)
    let padded = (h1 - h0) * (w1 - w0)
    h0 = max(h0, 0); w0 = max(w0, 0)
    h1 = min(h1, g.inH); w1 = min(w1, g.inW)
    let real = max(h1 - h0, 0) * max(w1 - w0, 0)
    return (h0, h1, w0, w1, Float(countIncludePad ? padded : real))
}

/// Average pooling as `torch.nn.functional.avg_pool2d` (zero padding; dilation must be 1).
/// - Parameter countIncludePad: divide by the padded window size (torch's default) rather than
///   the number of real inputs (Keras "same" average pooling).
public func avgPool2d(_ x: Tensor, _ params: Pool2dParams, countIncludePad: Bool = true) throws -> Tensor {
    let g = try avgGeometry("avgPool2d", shape: x.shape, params)
    var out = Tensor(kernelShape: [x.shape[0], x.shape[1], g.outH, g.outW])
    let dst = out.mutablePointer()
    withExtendedLifetime(x) {
        let src = x.pointer
        Parallel.forRanges(g.planes, grain: max(1, 4096 / max(g.outH * g.outW, 1))) { planes in
            for plane in planes {
                let input = src + plane * g.inH * g.inW
                let output = dst + plane * g.outH * g.outW
                for oh in 0..<g.outH {
                    for ow in 0..<g.outW {
                        let w = avgWindow(g, oh, ow, countIncludePad: countIncludePad)
                        var total: Float = 0
                        for ih in w.h0..<max(w.h1, w.h0) {
                            for iw in w.w0..<max(w.w1, w.w0) { total += input[ih * g.inW + iw] }
                        }
                        output[oh * g.outW + ow] = w.divisor > 0 ? total / w.divisor : 0
                    }
                }
            }
        }
    }
    return out
}

/// Gradient of `avgPool2d`: each output's gradient, divided by its divisor, spread over its window.
public func avgPool2dBackward(
    gradOutput: Tensor, inputShape: [Int], _ params: Pool2dParams, countIncludePad: Bool = true
) throws -> Tensor {
    let g = try avgGeometry("avgPool2dBackward", shape: inputShape, params)
    try checkShape("avgPool2dBackward", "gradOutput", gradOutput, [inputShape[0], inputShape[1], g.outH, g.outW])
    var dx = Tensor.zeros(kernelShape: inputShape)
    let dst = dx.mutablePointer()
    withExtendedLifetime(gradOutput) {
        let dy = gradOutput.pointer
        Parallel.forRanges(g.planes, grain: max(1, 4096 / max(g.outH * g.outW, 1))) { planes in
            for plane in planes {
                let grad = dy + plane * g.outH * g.outW
                let input = dst + plane * g.inH * g.inW
                for oh in 0..<g.outH {
                    for ow in 0..<g.outW {
                        let w = avgWindow(g, oh, ow, countIncludePad: countIncludePad)
                        guard w.divisor > 0 else { continue }
                        let share = grad[oh * g.outW + ow] / w.divisor
                        for ih in w.h0..<max(w.h1, w.h0) {
                            for iw in w.w0..<max(w.w1, w.w0) { input[ih * g.inW + iw] += share }
                        }
                    }
                }
            }
        }
    }
    return dx
}

private func avgGeometry(_ op: String, shape: [Int], _ params: Pool2dParams) throws -> PoolGeometry {
    guard params.dilationH == 1, params.dilationW == 1 else {
        throw TensorError.invalidArgument(
            op: op, detail: "average pooling has no dilation (got \(params.dilationH)×\(params.dilationW))")
    }
    return try PoolGeometry(op: op, shape: shape, params)
}

// MARK: - Adaptive and global average pooling

/// torch's adaptive window for output index `i` of `outSize` over `inSize`:
/// `[floor(i·in/out), ceil((i + 1)·in/out))`.
@inline(__always)
func adaptiveWindow(_ i: Int, _ inSize: Int, _ outSize: Int) -> (Int, Int) {
    (i * inSize / outSize, ((i + 1) * inSize + outSize - 1) / outSize)
}

/// `torch.nn.functional.adaptive_avg_pool2d(x, (outH, outW))`. Windows overlap or repeat as needed,
/// so any input size works (VGG's 7×7 head pool upsamples by repetition below 7×7).
public func adaptiveAvgPool2d(_ x: Tensor, outputSize: (h: Int, w: Int)) throws -> Tensor {
    let (planes, h, w) = try adaptiveShapes("adaptiveAvgPool2d", shape: x.shape, outputSize)
    let oh = outputSize.h, ow = outputSize.w
    var out = Tensor(kernelShape: [x.shape[0], x.shape[1], oh, ow])
    let dst = out.mutablePointer()
    withExtendedLifetime(x) {
        let src = x.pointer
        Parallel.forRanges(planes, grain: max(1, 4096 / max(h * w, 1))) { range in
            for plane in range {
                let input = src + plane * h * w
                for i in 0..<oh {
                    let (h0, h1) = adaptiveWindow(i, h, oh)
                    for j in 0..<ow {
                        let (w0, w1) = adaptiveWindow(j, w, ow)
                        var total: Float = 0
                        for ih in h0..<h1 {
                            for iw in w0..<w1 { total += input[ih * w + iw] }
                        }
                        dst[(plane * oh + i) * ow + j] = total / Float((h1 - h0) * (w1 - w0))
                    }
                }
            }
        }
    }
    return out
}

/// Gradient of `adaptiveAvgPool2d`.
public func adaptiveAvgPool2dBackward(gradOutput: Tensor, inputShape: [Int]) throws -> Tensor {
    try checkRank("adaptiveAvgPool2dBackward", "gradOutput", gradOutput, 4)
    let oh = gradOutput.shape[2], ow = gradOutput.shape[3]
    let (planes, h, w) = try adaptiveShapes("adaptiveAvgPool2dBackward", shape: inputShape, (oh, ow))
    try checkShape("adaptiveAvgPool2dBackward", "gradOutput", gradOutput, [inputShape[0], inputShape[1], oh, ow])
    var dx = Tensor.zeros(kernelShape: inputShape)
    let dst = dx.mutablePointer()
    withExtendedLifetime(gradOutput) {
        let dy = gradOutput.pointer
        Parallel.forRanges(planes, grain: max(1, 4096 / max(h * w, 1))) { range in
            for plane in range {
                let input = dst + plane * h * w
                for i in 0..<oh {
                    let (h0, h1) = adaptiveWindow(i, h, oh)
                    for j in 0..<ow {
                        let (w0, w1) = adaptiveWindow(j, w, ow)
                        let share = dy[(plane * oh + i) * ow + j] / Float((h1 - h0) * (w1 - w0))
                        for ih in h0..<h1 {
                            for iw in w0..<w1 { input[ih * w + iw] += share }
                        }
                    }
                }
            }
        }
    }
    return dx
}

private func adaptiveShapes(_ op: String, shape: [Int], _ size: (h: Int, w: Int)) throws -> (Int, Int, Int) {
    try checkRank(op, "x (N, C, H, W)", shape: shape, 4)
    guard size.h >= 1, size.w >= 1, size.h <= 1 << 24, size.w <= 1 << 24, shape[2] >= 1, shape[3] >= 1 else {
        throw TensorError.invalidArgument(op: op, detail: "output size \(size.h)×\(size.w) for input \(shape)")
    }
    try checkKernelSize(op: op, shapes: [shape, [shape[0], shape[1], size.h, size.w]])
    return (shape[0] * shape[1], shape[2], shape[3])
}

/// Mean over each (H, W) plane: (N, C, H, W) → (N, C, 1, 1), as `adaptive_avg_pool2d(x, 1)`.
public func globalAvgPool(_ x: Tensor) throws -> Tensor {
    try checkRank("globalAvgPool", "x (N, C, H, W)", x, 4)
    let plane = x.shape[2] * x.shape[3]
    guard plane >= 1 else { throw TensorError.invalidShape(op: "globalAvgPool", shape: x.shape) }
    var out = Tensor(kernelShape: [x.shape[0], x.shape[1], 1, 1])
    let dst = out.mutablePointer()
    withExtendedLifetime(x) {
        let src = x.pointer
        Parallel.forRanges(x.shape[0] * x.shape[1], grain: max(1, 16384 / plane)) { range in
            for i in range { dst[i] = sum(src + i * plane, plane) / Float(plane) }
        }
    }
    return out
}

/// Gradient of `globalAvgPool`: ∂x[n, c, :, :] = ∂y[n, c] / (H·W).
public func globalAvgPoolBackward(gradOutput: Tensor, inputShape: [Int]) throws -> Tensor {
    guard inputShape.count == 4, gradOutput.count == inputShape[0] * inputShape[1],
          gradOutput.shape == [inputShape[0], inputShape[1], 1, 1]
              || gradOutput.shape == [inputShape[0], inputShape[1]]
    else {
        throw TensorError.shapeMismatch(
            op: "globalAvgPoolBackward", detail: "gradOutput \(gradOutput.shape) for input \(inputShape)")
    }
    var dx = try Tensor(uninitializedShape: inputShape)
    let plane = inputShape[2] * inputShape[3]
    let dst = dx.mutablePointer()
    withExtendedLifetime(gradOutput) {
        let dy = gradOutput.pointer
        Parallel.forRanges(gradOutput.count, grain: max(1, 16384 / max(plane, 1))) { range in
            for i in range { (dst + i * plane).update(repeating: dy[i] / Float(plane), count: plane) }
        }
    }
    return dx
}
