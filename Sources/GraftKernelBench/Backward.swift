import GraftTensor

/// Training-step kernels for ResNet-18 at batch N (default 16): each convolution's forward, its
/// backward (input + weight + bias gradients; no input gradient for the stem, as in training), and
/// BatchNorm training forward + backward on its output. The sum estimates the convolution and
/// normalization part of one SGD step.
func benchBackward(_ o: Options) throws {
    let batch = o.batch ?? 16
    print("== ResNet-18 training kernels, batch \(batch), \(Parallel.threads) threads")
    print(pad("conv", 28) + pad("count", 7) + pad("fwd ms", 10) + pad("bwd ms", 10) + pad("bn f+b ms", 11)
          + pad("fwd GF/s", 10) + "bwd GF/s")
    var total = 0.0
    var parts = (fwd: 0.0, bwd: 0.0, bn: 0.0)
    for s in resnet18Convs {
        let x = try randomTensor([batch, s.inC, s.size, s.size], seed: 11)
        let w = try randomTensor([s.outC, s.inC, s.k, s.k], seed: 12)
        let p = Conv2dParams(stride: s.stride, padding: s.padding)
        let y = try conv2d(x, weight: w, params: p, options: o.conv)
        let dy = try randomTensor(y.shape, seed: 13)
        let gamma = try Tensor(shape: [s.outC], repeating: 1), beta = try Tensor(shape: [s.outC])
        let reps = max(o.reps / 3, 3)
        let fwd = try measure(reps: reps) { _ = try conv2d(x, weight: w, params: p, options: o.conv) }
        let isStem = s.name.hasPrefix("stem")
        let bwd = try measure(reps: reps) {
            _ = try conv2dBackward(x: x, weight: w, gradOutput: dy, params: p, inputGradient: !isStem, options: o.conv)
        }
        let bn = try measure(reps: reps) {
            let (_, stats) = try batchNormTraining(y, gamma: gamma, beta: beta, eps: 1e-5)
            _ = try batchNormBackward(x: y, gradOutput: dy, gamma: gamma, statistics: stats)
        }
        let flops = s.flops(batch: batch)
        let backwardFlops = flops * (isStem ? 1 : 2)
        let count = Double(s.count)
        parts.fwd += fwd.median * count
        parts.bwd += bwd.median * count
        parts.bn += bn.median * count
        total += (fwd.median + bwd.median + bn.median) * count
        print(pad(s.name, 28) + pad("×\(s.count)", 7) + pad(fmt(fwd.median * 1e3, 2), 10) + pad(fmt(bwd.median * 1e3, 2), 10)
              + pad(fmt(bn.median * 1e3, 2), 11) + pad(fmt(flops / fwd.median / 1e9, 1), 10)
              + fmt(backwardFlops / bwd.median / 1e9, 1))
    }
    print("sum: forward \(fmt(parts.fwd * 1e3, 1)) ms + backward \(fmt(parts.bwd * 1e3, 1)) ms"
          + " + batch norm \(fmt(parts.bn * 1e3, 1)) ms = \(fmt(total * 1e3, 1)) ms\n")
}
