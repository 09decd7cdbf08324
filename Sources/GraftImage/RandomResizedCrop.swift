#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// torchvision's `RandomResizedCrop`: a random box of random area and aspect ratio, resized to a
/// square. `get_params` is followed step for step (10 attempts, then the central fallback);
/// only the random source differs: a caller-supplied generator instead of torch's.
public struct RandomResizedCrop: Sendable, Equatable, Codable {
    /// Side of the square output.
    public var size: Int
    /// Range of the box area as a fraction of the image area.
    public var scale: ClosedRange<Double>
    /// Range of the box aspect ratio (width / height), sampled log-uniformly.
    public var ratio: ClosedRange<Double>
    /// Filter of the final resize.
    public var interpolation: ResampleFilter

    /// torchvision's defaults: scale 0.08…1, ratio 3/4…4/3, bilinear.
    public init(
        size: Int, scale: ClosedRange<Double> = 0.08...1.0,
        ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0), interpolation: ResampleFilter = .bilinear
    ) {
        self.size = size
        self.scale = scale
        self.ratio = ratio
        self.interpolation = interpolation
    }

    /// The crop box `(top, left, height, width)` for an image of `width` x `height` (both ≥ 1).
    public func parameters(
        width: Int, height: Int, using rng: inout some RandomNumberGenerator
    ) -> (top: Int, left: Int, height: Int, width: Int) {
        let area = Double(width) * Double(height)
        let logRatio = log(ratio.lowerBound)...log(ratio.upperBound)
        for _ in 0..<10 {
            let targetArea = area * ReproducibleDraw.uniform(scale, using: &rng)
            let aspect = exp(ReproducibleDraw.uniform(logRatio, using: &rng))
            guard let w = Self.roundedInt((targetArea * aspect).squareRoot()),
                  let h = Self.roundedInt((targetArea / aspect).squareRoot())
            else { continue }
            if w > 0 && w <= width && h > 0 && h <= height {
                let top = ReproducibleDraw.integer(upTo: height - h, using: &rng)
                let left = ReproducibleDraw.integer(upTo: width - w, using: &rng)
                return (top, left, h, w)
            }
        }
        // Fallback: the largest central box whose ratio is within range.
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.lowerBound {
            h = Self.roundedInt(Double(w) / ratio.lowerBound).map { min(max($0, 1), height) } ?? height
        } else if inRatio > ratio.upperBound {
            w = Self.roundedInt(Double(h) * ratio.upperBound).map { min(max($0, 1), width) } ?? width
        }
        return ((height - h) / 2, (width - w) / 2, h, w)
    }

    /// A random crop of `image` resized to `size` x `size`.
    public func callAsFunction(
        _ image: RGBImage, using rng: inout some RandomNumberGenerator
    ) throws -> RGBImage {
        guard size >= 1, scale.lowerBound > 0, ratio.lowerBound > 0, scale.upperBound.isFinite,
              ratio.upperBound.isFinite
        else {
            throw ImageError.invalidArgument("RandomResizedCrop(size: \(size), scale: \(scale), ratio: \(ratio))")
        }
        let box = parameters(width: image.width, height: image.height, using: &rng)
        let cropped = try ImageTransforms.crop(
            image, top: box.top, left: box.left, height: box.height, width: box.width)
        return try Resampler.resize(cropped, width: size, height: size, filter: interpolation)
    }

    /// Python's `int(round(x))` (half to even), or nil when `x` is not a representable integer.
    static func roundedInt(_ x: Double) -> Int? {
        let r = x.rounded(.toNearestOrEven)
        return r.isFinite && abs(r) < 0x1.0p62 ? Int(r) : nil
    }
}
