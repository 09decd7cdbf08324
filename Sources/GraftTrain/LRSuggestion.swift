import Foundation

/// A learning rate suggested from a range test's curve, with the point to mark on the chart.
public struct LRSuggestion: Sendable, Equatable {
    /// fastai's suggestion functions. They work on the curve as float32 tensors, as fastai does.
    public enum Method: String, Sendable, CaseIterable {
        /// The default: two thirds down the longest descending run of the loss (fastai's `valley`).
        case valley
        /// The interval slide rule (`slide`): walk left from the end while the slope keeps changing.
        case slide
        /// One tenth of the rate at the lowest loss (`minimum`).
        case minimum
        /// The rate where the loss falls fastest (`steep`).
        case steep

        func suggest(lrs: [Float], losses: [Float]) -> LRSuggestion? {
            let point: (Double, Int)?
            switch self {
            case .valley: point = LRSuggestion.valley(lrs, losses)
            case .slide: point = LRSuggestion.slide(lrs, losses)
            case .minimum: point = LRSuggestion.minimum(lrs, losses).map { (Double(lrs[$0]) / 10, $0) }
            case .steep: point = LRSuggestion.steep(lrs, losses)
            }
            return point.map { LRSuggestion(method: self, learningRate: $0.0, markedRate: Double(lrs[$0.1]), markedLoss: losses[$0.1]) }
        }
    }

    public let method: Method
    public let learningRate: Double
    /// Where the chart marks it (for `minimum`, the minimum itself).
    public let markedRate: Double
    public let markedLoss: Float

    /// Longest strictly decreasing subsequence ending anywhere; the rate two thirds of the way along it.
    static func valley(_ lrs: [Float], _ losses: [Float]) -> (Double, Int)? {
        let n = losses.count
        var lds = [Int](repeating: 1, count: n)
        var maxStart = 0, maxEnd = 0
        for i in 1..<n {
            for j in 0..<i {
                if losses[i] < losses[j] && lds[i] < lds[j] + 1 { lds[i] = lds[j] + 1 }
                if lds[maxEnd] < lds[i] {
                    maxEnd = i
                    maxStart = maxEnd - lds[maxEnd]
                }
            }
        }
        let sections = Double(maxEnd - maxStart) / 3
        let idx = maxStart + Int(sections) + Int(sections / 2)
        guard lrs.indices.contains(idx) else { return nil }
        return (Double(lrs[idx]), idx)
    }

    /// numpy.gradient (second-order inside, first-order at the ends) in float32, then from the right
    /// end, pairs 15 points apart move left while their slopes differ by more than 0.005.
    static func slide(_ lrs: [Float], _ losses: [Float], lrDiff: Int = 15, threshold: Float = 0.005) -> (Double, Int)? {
        let n = losses.count
        guard n > lrDiff else { return nil }  // fastai indexes past the start and fails there
        var grad = [Float](repeating: 0, count: n)
        grad[0] = losses[1] - losses[0]
        grad[n - 1] = losses[n - 1] - losses[n - 2]
        for i in 1..<(n - 1) { grad[i] = (losses[i + 1] - losses[i - 1]) / 2 }
        var r = n - 1, l = r - lrDiff
        var chosen = l
        while l >= 0 && abs(grad[r] - grad[l]) > threshold {
            chosen = l
            r -= 1
            l -= 1
        }
        return (Double(lrs[chosen]), chosen)
    }

    static func minimum(_ lrs: [Float], _ losses: [Float]) -> Int? {
        losses.indices.min { losses[$0] < losses[$1] }
    }

    /// The steepest descent per unit of log rate, float32 as torch computes it.
    static func steep(_ lrs: [Float], _ losses: [Float]) -> (Double, Int)? {
        var best: Int?
        var bestGrad = Float.infinity
        for i in 0..<(losses.count - 1) {
            let g = (losses[i + 1] - losses[i]) / (log(lrs[i + 1]) - log(lrs[i]))
            if g < bestGrad || best == nil { bestGrad = g; best = i }
        }
        return best.map { (Double(lrs[$0]), $0) }
    }
}
