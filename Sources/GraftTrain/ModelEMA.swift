import Foundation
import GraftNN
import GraftTensor

/// timm's ModelEmaV3 with warm-up: after every optimizer step each float parameter and buffer's
/// average moves toward the model's value, `ema = lerp(ema, value, 1 − decay)`, with
/// `decay = min(max_decay, 1 − (1 + t)^(−2/3))` for the t-th update after the first (the first copies).
/// Validation and the saved store use the averages (`swap()` exchanges them with the live values).
/// Integer buffers (BatchNorm's batch counters) are the model's, as timm copies them.
public final class ModelEMA {
    public let maximumDecay: Double
    public let entries: [(name: String, parameter: Parameter)]
    public private(set) var averages: [[Float]]
    /// Whether the averages are in the model right now (between two `swap()` calls).
    public private(set) var isSwappedIn = false

    /// Starts the averages at the parameters' current values (timm deep-copies the model).
    public init(_ entries: [(name: String, parameter: Parameter)], decay: Double) {
        self.entries = entries
        maximumDecay = decay
        averages = entries.map { $0.parameter.value.values }
    }

    /// timm's `get_decay(step)` with `use_warmup=True`, warmup_gamma 1, warmup_power 2/3, min_decay 0.
    public static func decay(step: Int, maximum: Double) -> Double {
        let t = max(0, step - 1)
        guard t > 0 else { return 0 }
        return max(min(1 - pow(1 + Double(t), -2.0 / 3.0), maximum), 0)
    }

    /// One update after optimizer step `step` (counting from 1), as torch's lerp computes it in float32
    /// (one fused multiply-add from the nearer end).
    public func update(step: Int) {
        precondition(!isSwappedIn, "update with the averages swapped in")
        let w = Float(1 - Self.decay(step: step, maximum: maximumDecay))
        let small = abs(w) < 0.5
        for (i, entry) in entries.enumerated() {
            entry.parameter.value.withUnsafeBufferPointer { live in
                averages[i].withUnsafeMutableBufferPointer { avg in
                    let n = min(live.count, avg.count)
                    if small {
                        for k in 0..<n { avg[k] = avg[k].addingProduct(w, live[k] - avg[k]) }
                    } else {
                        let c = w - 1
                        for k in 0..<n { avg[k] = live[k].addingProduct(c, live[k] - avg[k]) }
                    }
                }
            }
        }
    }

    /// Exchanges the averages and the live values (call twice to undo).
    public func swap() throws {
        for (i, entry) in entries.enumerated() {
            let live = entry.parameter.value
            entry.parameter.value = try Tensor(shape: live.shape, values: averages[i])
            averages[i] = live.values
        }
        isSwappedIn.toggle()
    }

    /// Runs `body` with the averages in the model.
    public func withAverages<T>(_ body: () throws -> T) throws -> T {
        try swap()
        defer { try? swap() }
        return try body()
    }

    /// Averages read from a checkpoint, by name; every entry must be there with its size.
    public func restore(_ saved: [String: [Float]]) throws {
        averages = try entries.enumerated().map { i, e in
            guard let v = saved[e.name], v.count == averages[i].count else {
                throw TrainingCheckpointError.notACheckpoint("its EMA has no fitting '\(e.name.prefix(200))'")
            }
            return v
        }
    }
}
