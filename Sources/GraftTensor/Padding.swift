/// Constant padding of the last two dimensions of (N, C, H, W), as Keras `ZeroPadding2D` or
/// `torch.nn.functional.pad(x, (left, right, top, bottom), value:)`.
public func pad2d(_ x: Tensor, top: Int, left: Int, bottom: Int, right: Int, value: Float = 0) throws -> Tensor {
    try checkRank("pad2d", "x (N, C, H, W)", x, 4)
    let limit = 1 << 24
    guard [top, left, bottom, right].allSatisfy({ $0 >= 0 && $0 <= limit }) else {
        throw TensorError.invalidArgument(
            op: "pad2d", detail: "padding (\(top), \(left), \(bottom), \(right)) must be in 0...\(limit)")
    }
    let h = x.shape[2], w = x.shape[3]
    let outShape = [x.shape[0], x.shape[1], h + top + bottom, w + left + right]
    try checkKernelSize(op: "pad2d", shapes: [x.shape, outShape])
    let ow = outShape[3], planeOut = outShape[2] * ow
    var out = Tensor(kernelShape: outShape)
    let dst = out.mutablePointer()
    withExtendedLifetime(x) {
        let src = x.pointer
        Parallel.forRanges(x.shape[0] * x.shape[1], grain: max(1, 16384 / max(planeOut, 1))) { planes in
            for plane in planes {
                let o = dst + plane * planeOut
                let i = src + plane * h * w
                o.update(repeating: value, count: top * ow)
                for r in 0..<h {
                    let row = o + (top + r) * ow
                    row.update(repeating: value, count: left)
                    (row + left).update(from: i + r * w, count: w)
                    (row + left + w).update(repeating: value, count: right)
                }
                (o + (top + h) * ow).update(repeating: value, count: bottom * ow)
            }
        }
    }
    return out
}

/// Gradient of `pad2d`: the gradient of the padded tensor cropped back to the input's extent.
public func pad2dBackward(gradOutput: Tensor, top: Int, left: Int, bottom: Int, right: Int) throws -> Tensor {
    try checkRank("pad2dBackward", "gradOutput", gradOutput, 4)
    let oh = gradOutput.shape[2], ow = gradOutput.shape[3]
    guard [top, left, bottom, right].allSatisfy({ $0 >= 0 }), top + bottom < oh, left + right < ow else {
        throw TensorError.invalidArgument(
            op: "pad2dBackward",
            detail: "padding (\(top), \(left), \(bottom), \(right)) leaves nothing of \(gradOutput.shape)")
    }
    let h = oh - top - bottom, w = ow - left - right
    var dx = Tensor(kernelShape: [gradOutput.shape[0], gradOutput.shape[1], h, w])
    let dst = dx.mutablePointer()
    withExtendedLifetime(gradOutput) {
        let src = gradOutput.pointer
        let planeCount = gradOutput.shape[0] * gradOutput.shape[1]
        Parallel.forRanges(planeCount, grain: max(1, 16384 / max(oh * ow, 1))) { planes in
            for plane in planes {
                for r in 0..<h {
                    (dst + (plane * h + r) * w).update(from: src + (plane * oh + top + r) * ow + left, count: w)
                }
            }
        }
    }
    return dx
}
