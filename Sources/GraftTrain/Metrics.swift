import GraftModels
import GraftTensor

/// Classification metrics of one pass over a dataset.
public struct EvaluationResult: Sendable, Equatable, Codable {
    public var loss: Double
    public var accuracy: Double
    public var top5: Double
    public var perClassAccuracy: [Double]
    /// `confusion[true][predicted]` counts.
    public var confusion: [[Int]]
    public var count: Int
}

/// Accumulates loss, top-1/top-5 hits and the confusion matrix batch by batch.
public struct MetricsAccumulator {
    public let classes: Int
    private var lossSum = 0.0
    private var hits = 0, hits5 = 0, count = 0
    private var confusion: [[Int]]

    public init(classes: Int) {
        self.classes = classes
        confusion = Array(repeating: Array(repeating: 0, count: classes), count: classes)
    }

    /// Adds a batch: logits `[N, K]`, targets, and the batch's mean loss.
    public mutating func add(logits: Tensor, targets: [Int], meanLoss: Float) {
        let k = logits.shape.count == 2 ? logits.shape[1] : 0
        let values = logits.values
        for (i, t) in targets.enumerated() {
            let top = TopK.indices(values[(i * k)..<((i + 1) * k)], k: 5)
            let predicted = top[0]
            if predicted == t { hits += 1 }
            if top.contains(t) { hits5 += 1 }
            if t < classes && predicted < classes { confusion[t][predicted] += 1 }
        }
        lossSum += Double(meanLoss) * Double(targets.count)
        count += targets.count
    }

    /// The mean loss so far (what `result.loss` reports), without building the whole result.
    public var meanLoss: Double { lossSum / Double(max(count, 1)) }

    public var result: EvaluationResult {
        let n = max(count, 1)
        let perClass = confusion.enumerated().map { (i, row) -> Double in
            let total = row.reduce(0, +)
            return total == 0 ? 0 : Double(row[i]) / Double(total)
        }
        return EvaluationResult(loss: meanLoss, accuracy: Double(hits) / Double(n), top5: Double(hits5) / Double(n),
                                perClassAccuracy: perClass, confusion: confusion, count: count)
    }
}
