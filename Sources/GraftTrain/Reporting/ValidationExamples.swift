import Foundation
import GraftImage
import GraftModels
import GraftTensor

/// One validation image as the final weights see it: fastai's "top losses" entry, with where in the
/// image the prediction came from.
public struct ValidationExample: Sendable {
    public let path: String
    public let trueClass: Int
    public let predictedClass: Int
    /// Softmax probability of the predicted class.
    public let probability: Float
    /// Cross-entropy of the true class, −log p(true), without label smoothing.
    public let loss: Float
    /// The Grad-CAM of the predicted class blended over the evaluation crop, as PNG bytes (the crop
    /// alone when the network gives no map: `gradCAMUnavailable` says why).
    public let overlayPNG: [UInt8]
    public let gradCAMUnavailable: String?
}

extension FineTuner {
    /// The `count` validation images with the highest loss under the weights the run hands on
    /// (`finalStateDict`), each with its Grad-CAM overlay. Images that fail to load are skipped, as
    /// validation skips them. The model's live weights are put back afterwards.
    public func highestLossExamples(count: Int) throws -> [ValidationExample] {
        guard count > 0, !data.validation.isEmpty else { return [] }
        let live = model.stateDict()
        let handedOn = try finalStateDict()
        let swapped = ema != nil || bestWeights != nil
        if swapped { try model.network.load(stateDict: handedOn) }
        defer { if swapped { _ = try? model.network.load(stateDict: live) } }

        let pipeline = loader.pipeline
        var scored: [(sample: ImageFolder.Sample, loss: Float)] = []
        for chunk in stride(from: 0, to: data.validation.count, by: loader.batchSize) {
            let samples = data.validation[chunk..<min(chunk + loader.batchSize, data.validation.count)]
            var loaded: [(ImageFolder.Sample, ImageTensor)] = []
            for s in samples {
                guard let image = try? ImageDecoder.decode(path: s.path), let t = try? pipeline.evaluate(image) else { continue }
                loaded.append((s, t))
            }
            guard let first = loaded.first?.1 else { continue }
            let batch = try Tensor(shape: [loaded.count] + first.shape, values: loaded.flatMap(\.1.values))
            // Cross-entropy of the true class, −log p(true), without label smoothing.
            let logProbabilities = try logSoftmax(model.logits(batch)).values
            let k = logProbabilities.count / loaded.count
            for (i, (sample, _)) in loaded.enumerated() {
                let loss = sample.label < k ? -logProbabilities[i * k + sample.label] : .infinity
                scored.append((sample, loss))
            }
        }
        let worst = scored.enumerated().sorted { a, b in
            a.element.loss != b.element.loss ? a.element.loss > b.element.loss : a.offset < b.offset
        }.prefix(count).map(\.element)

        return try worst.map { entry in
            let image = try ImageDecoder.decode(path: entry.sample.path)
            let t = try pipeline.evaluate(image)
            let input = try Tensor(shape: [1] + t.shape, values: t.values)
            let crop = try pipeline.evaluationCrop(image)
            // A network without a spatial map to explain (a custom one) still gets its report: the crop alone.
            do {
                let cam = try model.gradCAM(input)
                return ValidationExample(path: entry.sample.path, trueClass: entry.sample.label, predictedClass: cam.classIndex,
                                         probability: cam.probability, loss: entry.loss,
                                         overlayPNG: try PNGWriter.encode(try GradCAMOverlay.blend(cam, on: crop)), gradCAMUnavailable: nil)
            } catch {
                let p = try softmax(model.logits(input)).values
                let top = TopK.indices(p, k: 1).first ?? 0
                return ValidationExample(path: entry.sample.path, trueClass: entry.sample.label, predictedClass: top,
                                         probability: p.isEmpty ? 0 : p[top], loss: entry.loss,
                                         overlayPNG: try PNGWriter.encode(crop), gradCAMUnavailable: "\(error)")
            }
        }
    }
}
