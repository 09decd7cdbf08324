#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `v2.RandomErasing(p, scale, ratio, value=0)`: with probability `p`, a random box of the normalized
/// tensor set to 0 — torchvision's recipes put it after `Normalize`, so the box holds the dataset mean.
public struct RandomErasing: Sendable, Equatable {
    public var probability: Double
    /// Box area as a fraction of the image area.
    public var scale: ClosedRange<Double>
    /// Box aspect ratio (height / width), sampled log-uniformly.
    public var ratio: ClosedRange<Double>

    /// torchvision's defaults: p 0.5, scale 0.02…0.33, ratio 0.3…3.3.
    public init(probability: Double = 0.5, scale: ClosedRange<Double> = 0.02...0.33,
                ratio: ClosedRange<Double> = 0.3...3.3) {
        self.probability = probability
        self.scale = scale
        self.ratio = ratio
    }

    /// The box `(top, left, height, width)` for a `width`×`height` tensor, or nil when nothing is erased
    /// (the coin said no, or ten tries found no box strictly smaller than the image).
    public func box(
        width: Int, height: Int, using rng: inout some RandomNumberGenerator
    ) -> (top: Int, left: Int, height: Int, width: Int)? {
        // _RandomApplyTransform: skipped when rand >= p.
        guard ReproducibleDraw.uniform(0...1, using: &rng) < probability else { return nil }
        let area = Double(height * width)
        // torch.log of a float32 tensor, then a float32 uniform and a float32 exp.
        let logLo = Double(logf(Float(ratio.lowerBound))), logHi = Double(logf(Float(ratio.upperBound)))
        for _ in 0..<10 {
            let eraseArea = area * Float32Draw.uniform(scale.lowerBound, scale.upperBound, using: &rng)
            let aspect = Double(expf(Float(Float32Draw.uniform(logLo, logHi, using: &rng))))
            // Unlike RandomResizedCrop, the ratio multiplies the height here.
            guard let h = RandomResizedCrop.roundedInt((eraseArea * aspect).squareRoot()),
                  let w = RandomResizedCrop.roundedInt((eraseArea / aspect).squareRoot()),
                  h < height, w < width
            else { continue }
            let top = ReproducibleDraw.integer(upTo: height - h, using: &rng)
            let left = ReproducibleDraw.integer(upTo: width - w, using: &rng)
            return (top, left, h, w)
        }
        return nil
    }

    /// `F.erase(tensor, top, left, height, width, v=0)`: the box, clipped to the tensor, in every channel.
    public static func erase(_ tensor: ImageTensor, top: Int, left: Int, height: Int, width: Int) -> ImageTensor {
        var values = tensor.values
        let plane = tensor.height * tensor.width
        let rows = max(top, 0)..<min(top + height, tensor.height)
        let columns = max(left, 0)..<min(left + width, tensor.width)
        guard !rows.isEmpty, !columns.isEmpty else { return tensor }
        for c in 0..<tensor.channels {
            for y in rows { for x in columns { values[c * plane + y * tensor.width + x] = 0 } }
        }
        return ImageTensor(unchecked: tensor.channels, height: tensor.height, width: tensor.width, values: values)
    }

    public func callAsFunction(_ tensor: ImageTensor, using rng: inout some RandomNumberGenerator) -> ImageTensor {
        guard let b = box(width: tensor.width, height: tensor.height, using: &rng) else { return tensor }
        return Self.erase(tensor, top: b.top, left: b.left, height: b.height, width: b.width)
    }
}
