import Foundation

/// fastai's learning-rate range test (`Learner.lr_find`): train with a learning rate growing
/// exponentially from `startLR` to `endLR` over `iterations` batches, record the smoothed loss, stop
/// when it passes four times the best so far, and suggest a rate from the curve.
public struct LRRangeTest: Sendable, Equatable {
    public var startLR: Double
    public var endLR: Double
    public var iterations: Int
    public var stopOnDivergence: Bool

    /// fastai's defaults: 1e-7 → 10 over 100 batches, stopping on divergence. (fastai runs at least 6.)
    public init(startLR: Double = 1e-7, endLR: Double = 10, iterations: Int = 100, stopOnDivergence: Bool = true) {
        self.startLR = startLR
        self.endLR = endLR
        self.iterations = max(iterations, 6)
        self.stopOnDivergence = stopOnDivergence
    }

    /// The rate of batch `i` (from 0): `start · (end / start)^(i / iterations)`, fastai's SchedExp.
    public func learningRate(at i: Int) -> Double {
        startLR * pow(endLR / startLR, Double(i) / Double(iterations))
    }
}

/// Records a range test batch by batch exactly as fastai's Recorder and LRFinder callbacks do.
public struct LRRangeRecorder: Sendable {
    public let test: LRRangeTest
    public private(set) var learningRates: [Double] = []
    public private(set) var rawLosses: [Float] = []
    /// fastai's AvgSmoothLoss: an exponential average (β = 0.98) in float32, debiased by 1 − βⁿ.
    public private(set) var smoothedLosses: [Float] = []
    public private(set) var stoppedOnDivergence = false
    public private(set) var isFinished = false
    private var average: Float = 0
    private var best = Float.infinity
    static let beta: Float = 0.98

    public init(_ test: LRRangeTest) { self.test = test }

    /// The rate the next batch trains at.
    public var nextLearningRate: Double { test.learningRate(at: learningRates.count) }

    /// Records the loss of the batch just trained at `nextLearningRate`; false when the test is over.
    @discardableResult
    public mutating func record(loss: Float) -> Bool {
        guard !isFinished else { return false }
        learningRates.append(nextLearningRate)
        rawLosses.append(loss)
        // torch.lerp(loss, average, 0.98): for a weight ≥ 0.5 torch's CPU kernel computes
        // end + (w − 1)·(end − start) as one fused multiply-add.
        average = average.addingProduct(Self.beta - 1, average - loss)
        // The debiasing factor is a Python float (β as a double), rounded to float32 for the division.
        let smooth = average / Float(1 - pow(0.98, Double(learningRates.count)))
        smoothedLosses.append(smooth)
        if smooth < best { best = smooth }
        // As fastai: a NaN loss compares false here, so the test runs on and the suggestions drop it.
        if test.stopOnDivergence && smooth > 4 * best {
            stoppedOnDivergence = true
            isFinished = true
        } else if learningRates.count >= test.iterations {
            isFinished = true
        }
        return !isFinished
    }

    /// The suggestions, from the curve without its first tenth of `iterations` and its last five points
    /// (and cut at the first NaN), as `lr_find` computes them.
    public var suggestions: [LRSuggestion] {
        let from = test.iterations / 10, to = smoothedLosses.count - 5
        guard to > from else { return [] }
        var lrs = learningRates[from..<to].map { Float($0) }
        var losses = Array(smoothedLosses[from..<to])
        if let nan = losses.firstIndex(where: { $0.isNaN }) {
            lrs.removeSubrange(nan...)
            losses.removeSubrange(nan...)
        }
        guard losses.count >= 2 else { return [] }
        return LRSuggestion.Method.allCases.compactMap { $0.suggest(lrs: lrs, losses: losses) }
    }
}
