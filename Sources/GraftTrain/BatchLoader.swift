import Foundation
import GraftCore
import GraftImage
import GraftTensor

/// A batch of preprocessed images and their labels.
public struct Batch {
    public let images: Tensor
    public let labels: [Int]
}

/// Decodes, augments and batches images on a background thread while the model computes.
///
/// Training batches take the training recipe derived from the weights' eval preprocessing
/// (`ImagePipeline.augment` with `recipe`: by default RandomResizedCrop, horizontal flip, the recipe's
/// normalization), on the loader's background thread, the images of a batch in parallel;
/// evaluation batches take the eval preprocessing itself. Decoded images are
/// kept (within a memory budget) so later epochs skip the JPEG/PNG decoding. An unreadable image is
/// reported once through `onBadImage` and left out.
public final class BatchLoader: @unchecked Sendable {
    public let pipeline: ImagePipeline
    public let batchSize: Int
    /// The training augmentation (`--augment`); `light` (RandomResizedCrop + flip) unless set.
    public var recipe: AugmentRecipe = .light
    public var onBadImage: (String, Error) -> Void = { _, _ in }
    private let lock = NSLock()
    private var decoded: [String: RGBImage] = [:]
    private var decodedBytes = 0
    private let budget: Int
    private var bad = Set<String>()

    public init(pipeline: ImagePipeline, batchSize: Int, cacheBudgetBytes: Int = 1 << 30) {
        self.pipeline = pipeline
        self.batchSize = max(1, batchSize)
        self.budget = cacheBudgetBytes
    }

    /// The batches of one pass, prepared one ahead on a background thread.
    public func batches(_ samples: [ImageFolder.Sample], augment: Bool, shuffleSeed: UInt64?) -> Prefetcher {
        var order = samples
        if let seed = shuffleSeed {
            var rng = SplitMix64(seed: seed)
            order.shuffle(using: &rng)
        }
        let chunks = stride(from: 0, to: order.count, by: batchSize).map { Array(order[$0..<min($0 + batchSize, order.count)]) }
        let augmentSeed = shuffleSeed ?? 0
        return Prefetcher(count: chunks.count) { [self] i in
            try self.makeBatch(chunks[i], augment: augment, seed: augmentSeed &+ UInt64(i) &* 0x9E37_79B9)
        }
    }

    func makeBatch(_ items: [ImageFolder.Sample], augment: Bool, seed: UInt64) throws -> Batch? {
        // Each image draws from its own generator, seeded from the batch's: its augmentation depends on
        // (seed, epoch, batch, position) only, so the images of a batch can be prepared in parallel.
        var seeds = SplitMix64(seed: seed)
        let imageSeeds = items.map { _ in seeds.next() }
        let prepared = PreparedImages(count: items.count)
        DispatchQueue.concurrentPerform(iterations: items.count) { i in
            guard let image = image(items[i].path) else { return }
            var rng = SplitMix64(seed: imageSeeds[i])
            prepared.store(i, Result {
                augment ? try pipeline.augment(image, recipe: recipe, using: &rng) : try pipeline.evaluate(image)
            })
        }
        var values: [Float] = []
        var labels: [Int] = []
        let size = pipeline.size
        values.reserveCapacity(items.count * 3 * size * size)
        for (item, result) in zip(items, prepared.results) {
            guard let tensor = try result?.get() else { continue }
            values += tensor.values
            labels.append(item.label)
        }
        guard !labels.isEmpty else { return nil }
        return Batch(images: try Tensor(shape: [labels.count, 3, size, size], values: values), labels: labels)
    }

    /// The decoded image, from the cache or the file; nil (reported once) if it cannot be read.
    func image(_ path: String) -> RGBImage? {
        lock.lock()
        if let img = decoded[path] { lock.unlock(); return img }
        if bad.contains(path) { lock.unlock(); return nil }
        lock.unlock()
        do {
            let img = try ImageDecoder.decode(path: path)
            lock.lock()
            if decodedBytes + img.pixels.count <= budget {
                decoded[path] = img
                decodedBytes += img.pixels.count
            }
            lock.unlock()
            return img
        } catch {
            lock.lock()
            let first = bad.insert(path).inserted
            lock.unlock()
            if first { onBadImage(path, error) }
            return nil
        }
    }

    public var badImages: Set<String> { lock.lock(); defer { lock.unlock() }; return bad }
}

/// The tensors of one batch's images as the parallel workers finish them (nil: an unreadable image).
private final class PreparedImages: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var results: [Result<ImageTensor, Error>?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func store(_ index: Int, _ result: Result<ImageTensor, Error>) {
        lock.lock()
        results[index] = result
        lock.unlock()
    }
}

/// Runs `make(i)` for i = 0, 1, … on a background thread, one item ahead of the consumer.
public final class Prefetcher: @unchecked Sendable {
    public let count: Int
    private let make: (Int) throws -> Batch?
    private var results: [Int: Result<Batch?, Error>] = [:]
    private let condition = NSCondition()
    private var nextToConsume = 0
    private var cancelled = false
    private let ahead = 2

    init(count: Int, make: @escaping (Int) throws -> Batch?) {
        self.count = count
        self.make = make
        let thread = Thread { [self] in self.produce() }
        thread.stackSize = 1 << 22
        thread.start()
    }

    private func produce() {
        for i in 0..<count {
            condition.lock()
            while i - nextToConsume >= ahead && !cancelled { condition.wait() }
            let stop = cancelled
            condition.unlock()
            if stop { return }
            let r = Result { try make(i) }
            condition.lock()
            results[i] = r
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The next non-empty batch, or nil at the end; rethrows a preprocessing error.
    public func nextBatch() throws -> Batch? {
        while nextToConsume < count {
            condition.lock()
            while results[nextToConsume] == nil { condition.wait() }
            let r = results.removeValue(forKey: nextToConsume)!
            nextToConsume += 1
            condition.broadcast()
            condition.unlock()
            if let batch = try r.get() { return batch }
        }
        return nil
    }

    /// Stops the background thread when the consumer leaves early.
    public func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
