import Foundation
import GraftTensor

/// Plain-loop Double-precision convolution, written from the definition, as the reference the
/// kernels are checked against.
struct NaiveConv {
    let n: Int, c: Int, h: Int, w: Int
    let o: Int, kh: Int, kw: Int
    let p: Conv2dParams
    let oh: Int, ow: Int

    init(input: [Int], weight: [Int], params: Conv2dParams) {
        n = input[0]; c = input[1]; h = input[2]; w = input[3]
        o = weight[0]; kh = weight[2]; kw = weight[3]
        p = params
        oh = (h + p.padTop + p.padBottom - p.dilationH * (kh - 1) - 1) / p.strideH + 1
        ow = (w + p.padLeft + p.padRight - p.dilationW * (kw - 1) - 1) / p.strideW + 1
    }

    var cg: Int { c / p.groups }
    var og: Int { o / p.groups }

    /// Calls `body(n, o, y, x, ci, i, j, inputIndex, weightIndex, outputIndex)` for every
    /// (output element, tap) pair that reads a real (non-padding) input.
    func forEachTap(_ body: (_ xi: Int, _ wi: Int, _ yi: Int) -> Void) {
        for b in 0..<n {
            for oc in 0..<o {
                let group = oc / og
                for y in 0..<oh {
                    for x in 0..<ow {
                        let yi = ((b * o + oc) * oh + y) * ow + x
                        for ci in 0..<cg {
                            let ic = group * cg + ci
                            for i in 0..<kh {
                                let ih = y * p.strideH - p.padTop + i * p.dilationH
                                if ih < 0 || ih >= h { continue }
                                for j in 0..<kw {
                                    let iw = x * p.strideW - p.padLeft + j * p.dilationW
                                    if iw < 0 || iw >= w { continue }
                                    body(((b * c + ic) * h + ih) * w + iw, ((oc * cg + ci) * kh + i) * kw + j, yi)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func forward(x: [Float], weight: [Float], bias: [Float]?) -> [Double] {
        var y = [Double](repeating: 0, count: n * o * oh * ow)
        forEachTap { xi, wi, yi in y[yi] += Double(x[xi]) * Double(weight[wi]) }
        if let bias {
            for i in 0..<y.count { y[i] += Double(bias[(i / (oh * ow)) % o]) }
        }
        return y
    }

    /// (dx, dw, db) for an upstream gradient `dy` on the output.
    func backward(x: [Float], weight: [Float], dy: [Float]) -> (dx: [Double], dw: [Double], db: [Double]) {
        var dx = [Double](repeating: 0, count: x.count)
        var dw = [Double](repeating: 0, count: weight.count)
        var db = [Double](repeating: 0, count: o)
        forEachTap { xi, wi, yi in
            dx[xi] += Double(weight[wi]) * Double(dy[yi])
            dw[wi] += Double(x[xi]) * Double(dy[yi])
        }
        for i in 0..<dy.count { db[(i / (oh * ow)) % o] += Double(dy[i]) }
        return (dx, dw, db)
    }
}

/// Reference activations in Double.
func naiveActivation(_ v: Double, _ a: Activation) -> Double {
    switch a {
    case .none: return v
    case .relu: return max(v, 0)
    case .relu6: return min(max(v, 0), 6)
    case .silu: return v / (1 + Foundation.exp(-v))
    case .sigmoid: return 1 / (1 + Foundation.exp(-v))
    case .hardswish: return v * min(max(v + 3, 0), 6) / 6
    case .hardsigmoid: return min(max(v + 3, 0), 6) / 6
    case .gelu: return v * 0.5 * Foundation.erfc(-v / 2.0.squareRoot())
    }
}
