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

        // The `count` worst so far, decoded images kept: the chosen ones are not decoded a second time
        // for their Grad-CAM. Ties keep validation order.
        struct Scored { let index: Int; let sample: ImageFolder.Sample; let loss: Float; let image: RGBImage; let input: ImageTensor }
        let pipeline = loader.pipeline
        var worst: [Scored] = []
        var seen = 0
        for chunk in stride(from: 0, to: data.validation.count, by: loader.batchSize) {
            let samples = data.validation[chunk..<min(chunk + loader.batchSize, data.validation.count)]
            var loaded: [(sample: ImageFolder.Sample, image: RGBImage, input: ImageTensor)] = []
            for s in samples {
                guard let image = try? ImageDecoder.decode(path: s.path), let t = try? pipeline.evaluate(image) else { continue }
                loaded.append((s, image, t))
            }
            guard let first = loaded.first?.input else { continue }
            let batch = try Tensor(shape: [loaded.count] + first.shape, values: loaded.flatMap(\.input.values))
            // Cross-entropy of the true class, −log p(true), without label smoothing.
            let logProbabilities = try logSoftmax(model.logits(batch)).values
            let k = logProbabilities.count / loaded.count
            for (i, item) in loaded.enumerated() {
                let loss = item.sample.label < k ? -logProbabilities[i * k + item.sample.label] : .infinity
                worst.append(Scored(index: seen, sample: item.sample, loss: loss, image: item.image, input: item.input))
                seen += 1
            }
            worst.sort { $0.loss != $1.loss ? $0.loss > $1.loss : $0.index < $1.index }
            if worst.count > count { worst.removeLast(worst.count - count) }
        }

        return try worst.map { entry in
            let input = try Tensor(shape: [1] + entry.input.shape, values: entry.input.values)
            let crop = try pipeline.evaluationCrop(entry.image)
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
