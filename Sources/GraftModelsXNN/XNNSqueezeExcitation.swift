import CXNNPACK
import GraftNN
import GraftTensor

// Squeeze-and-excitation after an activation XNNPACK has no node for (EfficientNet's depthwise SiLU,
// a host step already): one host step applies that activation in place while it sums the channels,
// runs the two small 1×1 convolutions on the means, and writes the scaled map. XNNPACK's nodes would
// read the map once more to pool it and dispatch four small operators per block.

extension SqueezeExcitation: XNNEmittable {
    /// Pool, two 1×1 convolutions on the pooled `[1, 1, C]`, then one broadcast product: fused with the
    /// activation before it when that runs on the host, XNNPACK nodes otherwise.
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        if x.isMap, let step = SqueezeExcitationStep(self, channels: x.channels, pixels: x.height * x.width),
           let fused = e.fuseTrailingActivation(x, shape: x.shape, step.body) {
            return fused
        }
        let squeezed = try e.conv(fc1, norm: nil, activation: activation.kind, try e.globalAveragePool(x))
        return try e.mul(x, try e.conv(fc2, norm: nil, activation: scaleActivation.kind, squeezed))
    }
}

/// The fused step's weights and scratch (a plan runs one call at a time, so one scratch serves).
final class SqueezeExcitationStep {
    let channels, squeezed, pixels: Int
    let w1, b1, w2, b2: [Float]
    let activation, scaleActivation: Activation
    /// Rows (pixels) per parallel chunk: about 16 K floats.
    let rowsPerChunk: Int
    private var partialSums: [Float]
    private var means: [Float], hidden: [Float], scale: [Float]

    /// Nil when the block is not two dense 1×1 convolutions over `channels`.
    init?(_ se: SqueezeExcitation, channels: Int, pixels: Int) {
        let (fc1, fc2) = (se.fc1, se.fc2)
        guard fc1.inChannels == channels, fc2.outChannels == channels, fc1.outChannels == fc2.inChannels,
              fc1.groups == 1, fc2.groups == 1, fc1.kernelSize.h == 1, fc1.kernelSize.w == 1, fc2.kernelSize.h == 1,
              fc2.kernelSize.w == 1
        else { return nil }
        (self.channels, squeezed, self.pixels) = (channels, fc1.outChannels, pixels)
        w1 = fc1.weight.value.values
        b1 = fc1.bias?.value.values ?? [Float](repeating: 0, count: fc1.outChannels)
        w2 = fc2.weight.value.values
        b2 = fc2.bias?.value.values ?? [Float](repeating: 0, count: channels)
        (activation, scaleActivation) = (se.activation.kind, se.scaleActivation.kind)
        rowsPerChunk = max(1, 16384 / channels)
        partialSums = [Float](repeating: 0, count: (pixels + rowsPerChunk - 1) / rowsPerChunk * channels)
        means = [Float](repeating: 0, count: channels)
        hidden = [Float](repeating: 0, count: squeezed)
        scale = [Float](repeating: 0, count: channels)
    }

    /// The host step: `inputs[0]` activated by `kind` in place, `output` = that map times the scale.
    func body(_ kind: Activation) -> XNNHostStep.Body {
        { [self] inputs, output, batch, pool in
            for image in 0..<batch {
                let offset = image * pixels * channels
                run(kind, inputs[0] + offset, output + offset, pool)
            }
        }
    }

    private func run(_ kind: Activation, _ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ pool: pthreadpool_t?) {
        let (c, rows, pixels) = (channels, rowsPerChunk, pixels)
        let chunks = (pixels + rows - 1) / rows
        partialSums.withUnsafeMutableBufferPointer { sums in
            let sums = sums.baseAddress!
            XNNParallel.run(pool, chunks) { chunk in
                let first = chunk * rows, count = min(rows, pixels - first)
                let start = x + first * c
                GraftTensor.activate(kind, start, start, count: count * c)
                let sum = sums + chunk * c
                sum.update(from: start, count: c)
                for r in 1..<max(1, count) { GraftTensor.addInPlace(sum, start + r * c, count: c) }
            }
            // The chunks' sums in chunk order: the same result whatever the thread count.
            let inverse = 1 / Float(pixels)
            means.withUnsafeMutableBufferPointer { m in
                let m = m.baseAddress!
                m.update(from: sums, count: c)
                for chunk in 1..<max(1, chunks) { GraftTensor.addInPlace(m, sums + chunk * c, count: c) }
                for k in 0..<c { m[k] *= inverse }
            }
        }
        dense(w1, b1, means, &hidden, inputs: c)
        hidden.withUnsafeMutableBufferPointer { GraftTensor.activate(activation, $0.baseAddress!, $0.baseAddress!, count: $0.count) }
        dense(w2, b2, hidden, &scale, inputs: squeezed)
        scale.withUnsafeMutableBufferPointer { GraftTensor.activate(scaleActivation, $0.baseAddress!, $0.baseAddress!, count: $0.count) }
        scale.withUnsafeBufferPointer { s in
            let s = s.baseAddress!
            XNNParallel.run(pool, chunks) { chunk in
                let first = chunk * rows, count = min(rows, pixels - first)
                for r in 0..<count {
                    let (from, to) = (x + (first + r) * c, y + (first + r) * c)
                    for k in 0..<c { to[k] = from[k] * s[k] }
                }
            }
        }
    }

    /// out = W · v + b, W `[out.count, inputs]` row-major; eight partial sums per row (a scalar loop
    /// over Swift arrays was 2.4 % of an EfficientNet-B0 forward).
    private func dense(_ w: [Float], _ b: [Float], _ v: [Float], _ out: inout [Float], inputs: Int) {
        w.withUnsafeBufferPointer { w in v.withUnsafeBufferPointer { v in out.withUnsafeMutableBufferPointer { out in
            let (w, v) = (w.baseAddress!, v.baseAddress!)
            for o in 0..<out.count {
                let row = w + o * inputs
                var acc = SIMD8<Float>()
                var i = 0
                while i + 8 <= inputs {
                    acc += UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self)
                        * UnsafeRawPointer(v + i).loadUnaligned(as: SIMD8<Float>.self)
                    i += 8
                }
                var sum = acc.sum()
                while i < inputs {
                    sum += row[i] * v[i]
                    i += 1
                }
                out[o] = sum + b[o]
            }
        } } }
    }
}
