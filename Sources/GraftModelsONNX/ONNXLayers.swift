import GraftNN
import GraftONNX
import GraftTensor

// GraftNN's layers and combinators as ONNX operators. Dropout and stochastic depth are the identity
// at evaluation, so they emit nothing.

extension Sequential: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue { try e.emitChain(layers, x) }
}

extension Conv2d: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue { try e.conv(self, norm: nil, x) }
}

extension BatchNorm2d: ONNXEmittable {
    /// A BatchNorm with no convolution before it (DenseNet's pre-activation norms) stays a node.
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue { e.batchNorm(self, x) }
}

extension Linear: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue { try e.linear(self, e.flatten(x)) }
}

extension ActivationModule: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue { e.activation(kind, x) }
}

extension Dropout: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue { x }
}

extension StochasticDepth: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue { x }
}

extension Identity: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue { x }
}

extension Flatten: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue { e.flatten(x) }
}

extension MaxPool2d: ONNXEmittable {
    /// Ceil mode becomes extra padding at the end (ignored by max pooling), reaching torch's output
    /// size: torch drops a last window that would start in the right padding, which ONNX's own
    /// `ceil_mode` has not always done.
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let p = params
        guard let out = p.outputSize(inputH: x.height, inputW: x.width),
              let extra = p.endPaddingForFloorMode(inputH: x.height, inputW: x.width) else {
            throw ONNXExportError.shapeMismatch("max pooling \(x.shape) gives no output")
        }
        return e.node("MaxPool", [x.name], shape: [x.channels, out.h, out.w], [
            ("kernel_shape", .ints([p.kernelH, p.kernelW])), ("strides", .ints([p.strideH, p.strideW])),
            ("pads", .ints([p.padH, p.padW, p.padH + extra.h, p.padW + extra.w])),
            ("dilations", .ints([p.dilationH, p.dilationW])),
        ])
    }
}

extension AvgPool2d: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let p = params
        guard p.dilationH == 1 && p.dilationW == 1 else { throw ONNXExportError.unsupportedModule("AvgPool2d with dilation") }
        guard let out = p.outputSize(inputH: x.height, inputW: x.width) else {
            throw ONNXExportError.shapeMismatch("average pooling \(x.shape) gives no output")
        }
        // torch divides by the window clipped to input + padding — count_include_pad=1 — in both modes.
        return e.node("AveragePool", [x.name], shape: [x.channels, out.h, out.w], [
            ("kernel_shape", .ints([p.kernelH, p.kernelW])), ("strides", .ints([p.strideH, p.strideW])),
            ("pads", .ints([p.padH, p.padW, p.padH, p.padW])), ("count_include_pad", .int(1)),
            ("ceil_mode", .int(p.ceilMode ? 1 : 0)),
        ])
    }
}

extension AdaptiveAvgPool2d: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        try e.adaptiveAveragePool(x, height: size.h, width: size.w)
    }
}

extension ZeroPad2d: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let pads = e.graph.addInt64Initializer("pads", values: [0, 0, top, left, 0, 0, bottom, right])
        return e.node("Pad", [x.name, pads], shape: [x.channels, x.height + top + bottom, x.width + left + right])
    }
}

extension Concat: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        try e.concat(branches.map { try e.emit($0, x) })
    }
}

extension Residual: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let skip = try shortcut.map { try e.emit($0, x) } ?? x
        return e.activation(activation, try e.add(try e.emit(body, x), skip))
    }
}

extension SqueezeExcitation: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let pooled = e.globalAveragePool(x)
        let s = e.activation(scaleActivation.kind, try e.conv(fc2, norm: nil, e.activation(activation.kind, try e.conv(fc1, norm: nil, pooled))))
        return e.mul(x, s)
    }
}

extension LayerNorm2d: ONNXEmittable {
    /// A LayerNorm over channels: channels last, LayerNormalization over the last axis, back.
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let base = e.key(weight).map { String($0.dropLast(".weight".count)) } ?? "norm"
        let last = e.node("Transpose", [x.name], shape: [x.height, x.width, x.channels], [("perm", .ints([0, 2, 3, 1]))])
        let normed = e.node("LayerNormalization", [last.name, e.initializer(weight, fallback: base + ".weight"),
                                                   e.initializer(bias, fallback: base + ".bias")],
                            shape: last.shape, name: base, [("axis", .int(-1)), ("epsilon", .float(eps))])
        return e.node("Transpose", [normed.name], shape: x.shape, [("perm", .ints([0, 3, 1, 2]))])
    }
}

extension ONNXEmitter {
    /// torch's adaptive average pooling: nothing at the output size, GlobalAveragePool to 1×1,
    /// AveragePool when the size divides evenly, else one MatMul with the pooling matrix (windows
    /// from floor(i·H/oh) to ceil((i+1)·H/oh), of varying sizes).
    public func adaptiveAveragePool(_ x: ONNXValue, height oh: Int, width ow: Int) throws -> ONNXValue {
        let (h, w) = (x.height, x.width)
        if h == oh && w == ow { return x }
        if oh == 1 && ow == 1 { return globalAveragePool(x) }
        if h % oh == 0 && w % ow == 0 {
            let k = [h / oh, w / ow]
            return node("AveragePool", [x.name], shape: [x.channels, oh, ow], [("kernel_shape", .ints(k)), ("strides", .ints(k))])
        }
        var matrix = [Float](repeating: 0, count: h * w * oh * ow)
        for i in 0..<oh {
            let (h0, h1) = (i * h / oh, ((i + 1) * h + oh - 1) / oh)
            for j in 0..<ow {
                let (w0, w1) = (j * w / ow, ((j + 1) * w + ow - 1) / ow)
                let weight = 1 / Float((h1 - h0) * (w1 - w0))
                for row in h0..<h1 { for col in w0..<w1 { matrix[(row * w + col) * oh * ow + i * ow + j] = weight } }
            }
        }
        let rows = reshape(x, [x.channels, h * w])
        let pooled = node("MatMul", [rows.name, graph.addInitializer("adaptive_pool", shape: [h * w, oh * ow], values: matrix)],
                          shape: [x.channels, oh * ow])
        return reshape(pooled, [x.channels, oh, ow])
    }
}
