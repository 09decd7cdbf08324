import Graft

/// An image folder of grey pictures as `[N, 1, H, W]` batches, normalized as the fixtures' PyTorch side
/// did: `(v / 255 − 0.5) / 0.5`.
public struct GreyImages {
    public let classes: [String]
    public let images: Tensor
    public let labels: [Int]

    /// Every sample of `samples` decoded (PNG or JPEG; the first channel of what the decoder returns).
    public init(_ samples: [ImageFolder.Sample], classes: [String]) throws {
        var values: [Float] = []
        var shape: (h: Int, w: Int)?
        for sample in samples {
            let image = try ImageDecoder.decode(path: sample.path)
            if let shape, shape != (image.height, image.width) {
                throw NNError.badArgument("\(sample.path): \(image.width)×\(image.height), the others are \(shape.w)×\(shape.h)")
            }
            shape = (image.height, image.width)
            values += stride(from: 0, to: image.pixels.count, by: 3).map { (Float(image.pixels[$0]) / 255 - 0.5) / 0.5 }
        }
        let (h, w) = shape ?? (0, 0)
        self.classes = classes
        images = try Tensor(shape: [samples.count, 1, h, w], values: values)
        labels = samples.map(\.label)
    }

    public var count: Int { labels.count }

    /// Rows `indices` as one batch.
    public func batch(_ indices: ArraySlice<Int>) throws -> (images: Tensor, labels: [Int]) {
        let plane = images.count / max(count, 1)
        let all = images.values
        var values: [Float] = []
        values.reserveCapacity(indices.count * plane)
        for i in indices { values += all[(i * plane)..<((i + 1) * plane)] }
        return (try Tensor(shape: [indices.count] + images.shape.dropFirst(), values: values), indices.map { labels[$0] })
    }
}
