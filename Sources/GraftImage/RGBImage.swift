import GraftCore

/// An 8-bit RGB image, row-major, channels interleaved (HWC): what
/// `PIL.Image.open(path).convert("RGB")` holds.
///
/// Both sides are at least 1 and `pixels.count == width * height * 3`; every initializer checks
/// this, so the resampling and cropping kernels can index without further checks.
public struct RGBImage: Sendable, Equatable {
    /// Columns, at least 1.
    public private(set) var width: Int
    /// Rows, at least 1.
    public private(set) var height: Int
    /// `height * width * 3` bytes: row after row, each pixel R, G, B.
    public private(set) var pixels: [UInt8]

    /// An image over existing pixels; throws when the sizes disagree or a side is not positive.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width >= 1, height >= 1, let count = Checked.byteCount([height, width], itemSize: 3),
              count == pixels.count
        else {
            throw ImageError.invalidArgument(
                "an RGB image of \(width)x\(height) needs \(width)x\(height)x3 bytes, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A black image of the given size.
    public init(width: Int, height: Int) throws {
        guard width >= 1, height >= 1, let count = Checked.byteCount([height, width], itemSize: 3),
              count <= ImageLimits.maxOutputBytes
        else { throw ImageError.invalidArgument("cannot make a \(width)x\(height) image") }
        self.init(unchecked: width, height: height, pixels: [UInt8](repeating: 0, count: count))
    }

    /// For producers inside the module that computed `pixels` for exactly this size.
    init(unchecked width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Bytes per row.
    public var rowBytes: Int { width * 3 }

    /// The pixel at (`x`, `y`) as (r, g, b), or nil outside the image.
    public func pixel(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8)? {
        guard x >= 0, x < width, y >= 0, y < height else { return nil }
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

/// A float32 image tensor in CHW order, what torchvision hands a model (before batching).
public struct ImageTensor: Sendable, Equatable {
    /// Planes (3 for RGB).
    public let channels: Int
    /// Rows per plane.
    public let height: Int
    /// Columns per plane.
    public let width: Int
    /// `channels * height * width` values, channel-major.
    public private(set) var values: [Float]

    /// A tensor over existing values; throws when the count does not match the shape.
    public init(channels: Int, height: Int, width: Int, values: [Float]) throws {
        guard channels >= 1, height >= 1, width >= 1,
              Checked.elementCount([channels, height, width]) == values.count
        else {
            throw ImageError.invalidArgument(
                "a \(channels)x\(height)x\(width) tensor cannot hold \(values.count) values")
        }
        self.init(unchecked: channels, height: height, width: width, values: values)
    }

    init(unchecked channels: Int, height: Int, width: Int, values: [Float]) {
        self.channels = channels
        self.height = height
        self.width = width
        self.values = values
    }

    /// The shape as `[channels, height, width]`.
    public var shape: [Int] { [channels, height, width] }
}

/// Size limits shared by the decoders and the geometric transforms.
public enum ImageLimits {
    /// The largest image a transform may produce (RGB bytes): 2^30, a guard against a typo such
    /// as a crop size of 1_000_000 turning into a multi-gigabyte allocation.
    public static let maxOutputBytes = 1 << 30
}
