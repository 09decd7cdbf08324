import Foundation
import GraftCore
import GraftTensor

/// timm's Mixup in batch mode (`--mixup ALPHA`, `--cutmix ALPHA`): per batch, with probability `prob`,
/// λ ~ Beta(α, α); MixUp blends the batch with itself reversed (`x·λ + flip(x)·(1 − λ)`), CutMix pastes a
/// box of the reversed batch (side √(1 − λ) of the image's, centre uniform, clipped, λ corrected to the
/// pasted area); when both are on, CutMix is chosen with probability `switchProb`. The targets are
/// timm's soft one-hot mixes with label smoothing, for SoftTargetCrossEntropy.
public struct MixUpSettings: Sendable, Equatable {
    public var mixupAlpha: Double = 0
    public var cutmixAlpha: Double = 0
    public var prob: Double = 1
    public var switchProb: Double = 0.5

    public init(mixupAlpha: Double = 0, cutmixAlpha: Double = 0) {
        self.mixupAlpha = mixupAlpha
        self.cutmixAlpha = cutmixAlpha
    }

    public var isEnabled: Bool { mixupAlpha > 0 || cutmixAlpha > 0 }
}

/// One batch's mix: λ, and the pasted box (rows yl..<yh, columns xl..<xh) for CutMix.
public struct MixParameters: Sendable, Equatable {
    public var lam: Double
    public var box: (yl: Int, yh: Int, xl: Int, xh: Int)?

    public init(lam: Double, box: (yl: Int, yh: Int, xl: Int, xh: Int)? = nil) {
        self.lam = lam
        self.box = box
    }

    public static func == (a: MixParameters, b: MixParameters) -> Bool {
        a.lam == b.lam && a.box?.yl == b.box?.yl && a.box?.yh == b.box?.yh && a.box?.xl == b.box?.xl && a.box?.xh == b.box?.xh
    }
}

public enum MixUp {
    /// The parameters of one batch of `height × width` images, drawn as timm's `_params_per_batch`
    /// and `rand_bbox` draw them (from Graft's own stream).
    public static func sample<G: RandomNumberGenerator>(_ s: MixUpSettings, height: Int, width: Int, using rng: inout G) -> MixParameters {
        guard s.isEnabled, uniform(&rng) < s.prob else { return MixParameters(lam: 1) }
        let cut = s.mixupAlpha > 0 && s.cutmixAlpha > 0 ? uniform(&rng) < s.switchProb : s.cutmixAlpha > 0
        let lam = BetaDistribution.sample(alpha: cut ? s.cutmixAlpha : s.mixupAlpha, using: &rng)
        guard cut, lam != 1 else { return MixParameters(lam: lam) }
        let ratio = (1 - lam).squareRoot()
        let cutH = Int(Double(height) * ratio), cutW = Int(Double(width) * ratio)
        let cy = Int(rng.next(upperBound: UInt64(height))), cx = Int(rng.next(upperBound: UInt64(width)))
        return cutmixBox(height: height, width: width, cutH: cutH, cutW: cutW, cy: cy, cx: cx)
    }

    /// timm's box around (cy, cx), clipped to the image, with λ corrected to 1 − area / (H·W).
    public static func cutmixBox(height: Int, width: Int, cutH: Int, cutW: Int, cy: Int, cx: Int) -> MixParameters {
        let yl = min(max(cy - cutH / 2, 0), height), yh = min(max(cy + (cutH + 1) / 2, 0), height)
        let xl = min(max(cx - cutW / 2, 0), width), xh = min(max(cx + (cutW + 1) / 2, 0), width)
        let lam = 1 - Double((yh - yl) * (xh - xl)) / Double(height * width)
        return MixParameters(lam: lam, box: (yl, yh, xl, xh))
    }

    /// The mixed batch `[N, C, H, W]` (float32 operations in timm's order).
    public static func mix(_ images: Tensor, _ p: MixParameters) throws -> Tensor {
        guard p.lam != 1, images.shape.count == 4, images.shape[0] > 0 else { return images }
        let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let x = images.values, per = c * h * w
        var out = x
        if let b = p.box {
            for i in 0..<n {
                let j = n - 1 - i
                for ch in 0..<c {
                    for y in b.yl..<b.yh {
                        let row = ch * h * w + y * w
                        for xx in b.xl..<b.xh { out[i * per + row + xx] = x[j * per + row + xx] }
                    }
                }
            }
        } else {
            let lam = Float(p.lam), rest = Float(1 - p.lam)
            for i in 0..<n {
                let j = n - 1 - i
                for k in 0..<per { out[i * per + k] = x[i * per + k] * lam + x[j * per + k] * rest }
            }
        }
        return try Tensor(shape: images.shape, values: out)
    }

    /// timm's `mixup_target`: one-hot rows with smoothing (off ε/K, on 1 − ε + ε/K), mixed with the
    /// reversed batch's: `y·λ + flip(y)·(1 − λ)`.
    public static func targets(labels: [Int], classes: Int, lam: Double, smoothing: Float) throws -> Tensor {
        let off = Float(Double(smoothing) / Double(classes)), on = Float(1 - Double(smoothing) + Double(off))
        let a = Float(lam), b = Float(1 - lam), n = labels.count
        var t = [Float](repeating: 0, count: n * classes)
        for i in 0..<n {
            for k in 0..<classes {
                let y1: Float = labels[i] == k ? on : off, y2: Float = labels[n - 1 - i] == k ? on : off
                t[i * classes + k] = y1 * a + y2 * b
            }
        }
        return try Tensor(shape: [n, classes], values: t)
    }

    static func uniform<G: RandomNumberGenerator>(_ rng: inout G) -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
}

/// Beta(α, α) draws from two Gamma draws (Marsaglia and Tsang), as numpy's `beta` does for α > 1 and
/// through the boost for α < 1; the draws are Graft's, the distribution is numpy's.
enum BetaDistribution {
    static func sample<G: RandomNumberGenerator>(alpha: Double, using rng: inout G) -> Double {
        let x = gamma(alpha, &rng), y = gamma(alpha, &rng)
        return x + y > 0 ? x / (x + y) : 0.5
    }

    static func gamma<G: RandomNumberGenerator>(_ shape: Double, _ rng: inout G) -> Double {
        if shape < 1 {
            // Gamma(a) = Gamma(a + 1) · U^(1/a).
            let u = max(MixUp.uniform(&rng), .leastNonzeroMagnitude)
            return gamma(shape + 1, &rng) * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x = 0.0, v = 0.0
            repeat {
                x = normal(&rng)
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = MixUp.uniform(&rng)
            if u < 1 - 0.0331 * x * x * x * x || log(max(u, .leastNonzeroMagnitude)) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    static func normal<G: RandomNumberGenerator>(_ rng: inout G) -> Double {
        let u1 = max(MixUp.uniform(&rng), .leastNonzeroMagnitude), u2 = MixUp.uniform(&rng)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}
