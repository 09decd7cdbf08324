import GraftCore

/// Class-imbalance handling (`--balance`): sklearn's "balanced" loss weights, and torch's
/// WeightedRandomSampler draw (with replacement, probability ∝ 1 / count of the sample's class).
public enum ClassBalance {
    /// `n / (K · count[c])` per class; a class without samples gets 0 (it never is a target).
    public static func lossWeights(labels: [Int], classes: Int) -> [Float] {
        let counts = histogram(labels, classes)
        // float32 arithmetic, as torch computes `n / (K * counts)` on a float tensor.
        return counts.map { $0 == 0 ? 0 : Float(labels.count) / (Float(classes) * Float($0)) }
    }

    /// `count` indices into `labels`, each drawn with probability ∝ 1 / count of its class, with
    /// replacement, from a seeded stream (an epoch's draw is a function of the seed alone).
    public static func weightedDraw(labels: [Int], classes: Int, count: Int, seed: UInt64) -> [Int] {
        let counts = histogram(labels, classes)
        var cumulative: [Double] = []
        var total = 0.0
        for y in labels {
            total += counts[y] > 0 ? 1 / Double(counts[y]) : 0
            cumulative.append(total)
        }
        guard total > 0 else { return [] }
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let u = Double(rng.next() >> 11) / Double(1 << 53) * total
            // The first index whose running total exceeds u (binary search).
            var lo = 0, hi = cumulative.count - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if cumulative[mid] > u { hi = mid } else { lo = mid + 1 }
            }
            return lo
        }
    }

    static func histogram(_ labels: [Int], _ classes: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for y in labels where counts.indices.contains(y) { counts[y] += 1 }
        return counts
    }
}
