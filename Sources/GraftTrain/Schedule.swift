import Foundation

/// Learning-rate (and momentum) schedules, evaluated per optimizer step.
public enum Schedule: Sendable, Equatable {
    case constant
    /// Multiply by `gamma` every `everyEpochs` epochs (torch StepLR).
    case step(everyEpochs: Int, gamma: Double)
    /// Linear warmup over `warmupSteps`, then cosine annealing to `minFactor` of the peak.
    case cosine(warmupSteps: Int, minFactor: Double)
    /// fastai's `fit_one_cycle`: cosine from lr/div up to lr over `pctStart` of the steps, then down to
    /// lr/finalDiv; momentum (SGD μ, Adam β1) cosine 0.95 → 0.85 → 0.95 the other way round.
    case oneCycle(pctStart: Double, div: Double, finalDiv: Double, momentum: [Double])

    /// fastai's defaults: pct_start 0.25, div 25, div_final 1e5, moms (0.95, 0.85, 0.95).
    public static let fastaiOneCycle = Schedule.oneCycle(pctStart: 0.25, div: 25, finalDiv: 1e5, momentum: [0.95, 0.85, 0.95])

    /// The factor applied to each group's peak learning rate at 0-based `step` of `totalSteps`, and
    /// the momentum to use if the schedule sets one.
    public func values(step: Int, totalSteps: Int, stepsPerEpoch: Int) -> (lrFactor: Double, momentum: Double?) {
        let total = max(totalSteps, 1)
        switch self {
        case .constant:
            return (1, nil)
        case .step(let every, let gamma):
            let epoch = step / max(stepsPerEpoch, 1)
            return (pow(gamma, Double(epoch / max(every, 1))), nil)
        case .cosine(let warmup, let minFactor):
            if step < warmup { return (Double(step + 1) / Double(warmup), nil) }
            let t = Double(step - warmup) / Double(max(total - warmup, 1))
            return (minFactor + (1 - minFactor) * 0.5 * (1 + cos(.pi * t)), nil)
        case .oneCycle(let pct, let div, let finalDiv, let moms):
            // fastai's position is train_iter / n_iter, taken before the step.
            let pos = Double(step) / Double(total)
            let lr = Self.combinedCos(pos, pct: pct, start: 1 / div, middle: 1, end: 1 / finalDiv)
            let mom = moms.count == 3 ? Self.combinedCos(pos, pct: pct, start: moms[0], middle: moms[1], end: moms[2]) : nil
            return (lr, mom)
        }
    }

    /// fastai `combined_cos`: SchedCos(start, middle) on [0, pct), SchedCos(middle, end) on [pct, 1].
    static func combinedCos(_ pos: Double, pct: Double, start: Double, middle: Double, end: Double) -> Double {
        func schedCos(_ a: Double, _ b: Double, _ p: Double) -> Double { a + (1 + cos(.pi * (1 - p))) * (b - a) / 2 }
        if pos < pct { return schedCos(start, middle, pos / pct) }
        return schedCos(middle, end, (pos - pct) / max(1 - pct, 1e-12))
    }

    /// Parses `constant`, `step:EPOCHS:GAMMA`, `cosine[:WARMUP_STEPS]`, `one-cycle`.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":").map(String.init)
        switch parts.first {
        case "constant": self = .constant
        case "step":
            guard parts.count == 3, let e = Int(parts[1]), let g = Double(parts[2]) else { return nil }
            self = .step(everyEpochs: e, gamma: g)
        case "cosine": self = .cosine(warmupSteps: parts.count > 1 ? Int(parts[1]) ?? 0 : 0, minFactor: 0)
        case "one-cycle", "onecycle": self = .fastaiOneCycle
        default: return nil
        }
    }
}

extension Schedule: CustomStringConvertible {
    /// The text `init(parsing:)` reads back, where it can express the schedule.
    public var description: String {
        switch self {
        case .constant: return "constant"
        case .step(let every, let gamma): return "step:\(every):\(gamma)"
        case .cosine(let warmup, let minFactor): return "cosine:\(warmup)" + (minFactor == 0 ? "" : " (down to \(minFactor) of the peak)")
        case .oneCycle: return self == .fastaiOneCycle ? "one-cycle" : "one-cycle (custom)"
        }
    }
}
