import CXNNPACK
import GraftNN
import GraftTensor

// GraftNN's layers and combinators as XNNPACK nodes. Dropout and stochastic depth are the identity
// at evaluation, so they define nothing.

extension Sequential: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue { try e.emitChain(layers, x) }
}

extension Conv2d: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue { try e.conv(self, norm: nil, x) }
}

extension BatchNorm2d: XNNEmittable {
    /// A BatchNorm with no convolution before it: `x · scale + shift` per channel, the factors of
    /// Graft's own inference (`batchNormScaleShift`).
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        let f = try batchNormScaleShift(gamma: weight.value, beta: bias.value, runningMean: runningMean.value,
                                        runningVar: runningVar.value, eps: eps)
        return try e.add(try e.mul(x, try e.constantValue(f.scale.values)), try e.constantValue(f.shift.values), broadcasting: true)
    }
}

extension Linear: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue { try e.linear(self, x) }
}

extension ActivationModule: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue { try e.activation(kind, x) }
}

extension Dropout: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue { x }
}

extension StochasticDepth: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue { x }
}

extension Identity: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue { x }
}

extension Flatten: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue { try e.flatten(x) }
}

extension MaxPool2d: XNNEmittable {
    /// Ceil mode becomes padding at the bottom and right, which XNNPACK's max pooling ignores.
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        let p = params
        guard x.isMap, let out = p.outputSize(inputH: x.height, inputW: x.width),
              let extra = p.endPaddingForFloorMode(inputH: x.height, inputW: x.width) else {
            throw XNNLoweringError.shapeMismatch("max pooling \(x.shape) gives no output")
        }
        let y = try e.value([out.h, out.w, x.channels])
        try e.check(xnn_define_max_pooling_2d(
            e.subgraph, UInt32(p.padH), UInt32(p.padW + extra.w), UInt32(p.padH + extra.h), UInt32(p.padW),
            UInt32(p.kernelH), UInt32(p.kernelW), UInt32(p.strideH), UInt32(p.strideW), UInt32(p.dilationH), UInt32(p.dilationW),
            -.infinity, .infinity, try e.use(x), y.id, 0), "a max pool")
        return y
    }
}

extension AvgPool2d: XNNEmittable {
    /// Without padding only: XNNPACK divides by the window inside the input, torch by the padded one.
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        let p = params
        guard x.isMap else { throw XNNLoweringError.shapeMismatch("average pooling of \(x.shape)") }
        guard p.padH == 0, p.padW == 0, p.dilationH == 1, p.dilationW == 1, !p.ceilMode ||
              p.endPaddingForFloorMode(inputH: x.height, inputW: x.width).map({ $0 == (0, 0) }) == true else {
            throw XNNLoweringError.unsupportedModule("AvgPool2d with padding, dilation or a ceil-mode window")
        }
        return try e.averagePool(x, kernel: (p.kernelH, p.kernelW), stride: (p.strideH, p.strideW))
    }
}

extension AdaptiveAvgPool2d: XNNEmittable {
    /// torch's adaptive pooling where XNNPACK has it: the identity, a global pool, even windows, or
    /// each pixel repeated (VGG's and AlexNet's classifiers on a small input).
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        guard x.isMap else { throw XNNLoweringError.shapeMismatch("adaptive pooling of \(x.shape)") }
        if x.height == size.h && x.width == size.w { return x }
        if size == (1, 1) { return try e.globalAveragePool(x) }
        if size.h % x.height == 0 && size.w % x.width == 0 {
            // Every window is one pixel: each is repeated (h, w) times — a product with ones over
            // two new axes, `[H, 1, W, 1, C] · [h, 1, w, 1] → [H, h, W, w, C]`.
            let (h, w) = (size.h / x.height, size.w / x.width)
            let spread = try e.reshape(x, [x.height, 1, x.width, 1, x.channels])
            let ones = try e.constantValue([Float](repeating: 1, count: h * w), shape: [h, 1, w, 1])
            let y = try e.value([x.height, h, x.width, w, x.channels])
            try e.check(xnn_define_multiply2(e.subgraph, -.infinity, .infinity, try e.use(spread), try e.use(ones), y.id, 0), "a repetition")
            return try e.reshape(y, [size.h, size.w, x.channels])
        }
        guard x.height % size.h == 0, x.width % size.w == 0 else {
            throw XNNLoweringError.unsupportedModule("AdaptiveAvgPool2d from \(x.height)×\(x.width) to \(size.h)×\(size.w) (uneven windows)")
        }
        let k = (x.height / size.h, x.width / size.w)
        return try e.averagePool(x, kernel: k, stride: k)
    }
}

extension ZeroPad2d: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        guard x.isMap else { throw XNNLoweringError.shapeMismatch("padding \(x.shape)") }
        let source = try e.use(x)
        let y = try e.value([x.height + top + bottom, x.width + left + right, x.channels])
        let before = [0, top, left, 0], after = [0, bottom, right, 0]
        try e.check(before.withUnsafeBufferPointer { b in after.withUnsafeBufferPointer { a in
            xnn_define_static_constant_pad(e.subgraph, b.baseAddress, a.baseAddress, 0, source, y.id, 0)
        } }, "a zero padding")
        return y
    }
}

extension Residual: XNNEmittable {
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        let skip = try shortcut.map { try e.emit($0, x) } ?? x
        return try e.add(try e.emit(body, x), skip, activation: activation)
    }
}

extension XNNEmitter {
    /// Average pooling without padding (every window inside the input).
    func averagePool(_ x: XNNValue, kernel: (Int, Int), stride: (Int, Int)) throws -> XNNValue {
        let y = try value([(x.height - kernel.0) / stride.0 + 1, (x.width - kernel.1) / stride.1 + 1, x.channels])
        try check(xnn_define_average_pooling_2d(subgraph, 0, 0, 0, 0, UInt32(kernel.0), UInt32(kernel.1), UInt32(stride.0),
                                                UInt32(stride.1), -.infinity, .infinity, try use(x), y.id, 0), "an average pool")
        return y
    }
}
