import ArgumentParser
import Foundation
import Graft

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a checkpoint on a reference input and compare with the reference framework's logits.",
        discussion: "Exit 0 when every logit is within atol + rtol·|reference| (numpy.allclose), 1 otherwise.")

    @OptionGroup var model: ModelOptions

    @Option(help: "NCHW float32 input (.npy), preprocessed as the reference model received it.")
    var input: String

    @Option(help: "The reference logits (.npy).")
    var reference: String

    @Option var atol: Float = 1e-4
    @Option var rtol: Float = 1e-4

    @Flag(help: "Apply softmax to Graft's outputs first (references from keras.applications models, whose last layer is a softmax by default).")
    var softmax = false

    @Option(help: "Also write Graft's outputs (.npy, float32), to compare them elsewhere.")
    var output: String?

    @Flag(help: "Print JSON.") var json = false

    struct Report: Encodable {
        let arch: String
        let checkpoint: String
        let naming: String
        let samples: Int
        let classes: Int
        let maxAbsDiff: Float
        let maxRelDiff: Float
        /// The largest |Δ| / (atol + rtol·|reference|): below 1 passes, and how far below says the margin.
        let worstToleranceShare: Float
        let top1Agreement: Double
        let top5Agreement: Double
        let withinTolerance: Bool
        let atol: Float
        let rtol: Float
    }

    func run() throws {
        let (_, loaded, arch) = try reportingErrors(file: model.checkpoint) { try model.load() }
        let x = try reportingErrors(file: input) { try NpyArray(contentsOfFile: input) }
        let want = try reportingErrors(file: reference) { try NpyArray(contentsOfFile: reference) }
        // A single CHW image (as `graft preprocess` writes it) is a batch of one.
        let shape = x.shape.count == 3 ? [1] + x.shape : x.shape
        let logits = try reportingErrors(file: input) {
            try loaded.model.logits(try Tensor(shape: shape, values: x.values))
        }
        let got = softmax ? try GraftTensor.softmax(logits) : logits
        if let output {
            try reportingErrors(file: output) { try NpyArray(shape: got.shape, values: got.values).write(toFile: output) }
        }
        guard got.shape == want.shape else {
            printError("graft: error: \(reference): reference shape \(want.shape), model output \(got.shape)")
            throw Exit.badInput
        }
        let n = want.shape[0], k = want.values.count / max(n, 1)
        var maxAbs: Float = 0, maxRel: Float = 0, worstShare: Float = 0, ok = true
        for (g, w) in zip(got.values, want.values) {
            let d = abs(g - w)
            maxAbs = max(maxAbs, d)
            maxRel = max(maxRel, d / max(abs(w), .leastNormalMagnitude))
            worstShare = max(worstShare, d / max(atol + rtol * abs(w), .leastNormalMagnitude))
            if !(d <= atol + rtol * abs(w)) { ok = false }
        }
        var top1 = 0, top5 = 0
        for i in 0..<n {
            let a = Array(got.values[(i * k)..<((i + 1) * k)]), b = Array(want.values[(i * k)..<((i + 1) * k)])
            let ta = TopK.indices(a, k: min(5, k)), tb = TopK.indices(b, k: min(5, k))
            if ta.first == tb.first { top1 += 1 }
            if Set(ta) == Set(tb) { top5 += 1 }
        }
        let report = Report(arch: arch, checkpoint: model.checkpoint, naming: loaded.scheme.rawValue, samples: n, classes: k,
                            maxAbsDiff: maxAbs, maxRelDiff: maxRel, worstToleranceShare: worstShare, top1Agreement: Double(top1) / Double(max(n, 1)),
                            top5Agreement: Double(top5) / Double(max(n, 1)), withinTolerance: ok, atol: atol, rtol: rtol)
        if json {
            try printJSON(report)
        } else {
            print("arch \(arch), naming \(loaded.scheme.rawValue), \(n) samples × \(k) logits")
            for note in loaded.notes { print("  \(note)") }
            print("max |Δ| \(maxAbs), max relative \(maxRel), worst |Δ| / (atol + rtol·|reference|) \(worstShare)")
            print("top-1 agreement \(top1)/\(n), top-5 agreement \(top5)/\(n)")
            print(ok ? "OK: within atol \(atol) + rtol \(rtol)·|reference|" : "FAILED: outside atol \(atol) + rtol \(rtol)·|reference|")
        }
        if !ok { throw Exit.checkFailed }
    }
}

enum TopK {
    /// Indices of the k largest values, largest first (ties: lower index first).
    static func indices(_ v: [Float], k: Int) -> [Int] {
        Array(v.indices.sorted { v[$0] != v[$1] ? v[$0] > v[$1] : $0 < $1 }.prefix(k))
    }
}
