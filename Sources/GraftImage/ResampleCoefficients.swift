#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One axis of a Pillow convolution resize: for every output position, the first input index,
/// the number of taps and their fixed-point weights (Resample.c `precompute_coeffs` followed by
/// `normalize_coeffs_8bpc`, re-derived step for step so the rounding is the same).
struct ResampleCoefficients {
    /// Fractional bits of the weights: 32 bits minus 8 for the sample and 2 for the overshoot of
    /// kernels with negative lobes.
    static let precisionBits: Int32 = 22

    /// Taps reserved per output position (the stride of `weights`).
    let kernelSize: Int
    /// First input index per output position.
    let starts: [Int]
    /// Number of taps per output position (never more than `kernelSize`).
    let counts: [Int]
    /// `outSize * kernelSize` weights scaled by 2^22; unused taps are 0.
    let weights: [Int32]

    /// Coefficients for resizing `inSize` samples to `outSize` (both at least 1), over the whole
    /// input (Pillow's default box `(0, inSize)`).
    init(inSize: Int, outSize: Int, filter: ResampleFilter) {
        // Pillow passes the box as C floats: (in1 - in0) is a float subtraction, then widened.
        let span = Double(Float(inSize) - Float(0))
        let scale = span / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let kernelSize = Int(support.rounded(.up)) * 2 + 1
        let inverseFilterScale = 1.0 / filterScale

        var starts = [Int](repeating: 0, count: outSize)
        var counts = [Int](repeating: 0, count: outSize)
        var weights = [Int32](repeating: 0, count: outSize * kernelSize)
        var taps = [Double](repeating: 0, count: kernelSize)
        for xx in 0..<outSize {
            let center = 0.0 + (Double(xx) + 0.5) * scale
            // C's (int) cast truncates toward zero, as Int(_:) does.
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), inSize)
            let count = max(min(xmax - xmin, kernelSize), 0)
            var total = 0.0
            for x in 0..<count {
                let w = filter.weight((Double(x + xmin) - center + 0.5) * inverseFilterScale)
                taps[x] = w
                total += w
            }
            for x in 0..<count {
                let w = total != 0 ? taps[x] / total : taps[x]
                // Round half away from zero, then truncate, as normalize_coeffs_8bpc does.
                let scaled = w * Double(1 << Self.precisionBits)
                weights[xx * kernelSize + x] = Int32(w < 0 ? (-0.5 + scaled) : (0.5 + scaled))
            }
            starts[xx] = xmin
            counts[xx] = count
        }
        self.kernelSize = kernelSize
        self.starts = starts
        self.counts = counts
        self.weights = weights
    }

    /// The input range the output needs: first index and one past the last.
    var inputSpan: (first: Int, end: Int) {
        guard let first = starts.first, let lastStart = starts.last, let lastCount = counts.last else {
            return (0, 0)
        }
        return (first, lastStart + lastCount)
    }
}
