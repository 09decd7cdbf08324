import ArgumentParser
import Foundation
import Graft

struct LRFind: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lr-find",
        abstract: "fastai's learning-rate range test: a suggested --lr for finetune, and the loss curve.",
        discussion: """
            Trains what `finetune` with the same recipe would train, at a learning rate growing exponentially \
            from --start-lr to --end-lr over --iterations batches (one rate for every layer group), records the \
            smoothed loss and stops when it passes 4× its best. Suggestions follow fastai's rules: valley (the \
            default, what finetune uses without --lr), slide, minimum (a tenth of the rate at the lowest loss) and \
            steep. Nothing is written but the chart (--plot).
            """)

    @OptionGroup var recipe: RecipeOptions
    @Option var startLR = 1e-7
    @Option var endLR = 10.0
    @Option(help: "Batches in the sweep (fastai's num_it).") var iterations = 100
    @Flag(help: "Run every iteration even when the loss diverges.") var noStopDiv = false
    @Option(help: "valley, slide, minimum or steep.") var suggest: LRSuggestion.Method = .valley
    @Option(help: "Write the curve as an SVG chart.") var plot: String?
    @Flag(help: "One JSON object on stdout.") var json = false

    func validate() throws {
        guard startLR > 0, endLR > startLR, endLR.isFinite else { throw ValidationError("--start-lr must be > 0 and below --end-lr") }
        guard (6...100_000).contains(iterations) else { throw ValidationError("--iterations: 6 to 100000") }
    }

    func run() throws {
        let prepared = try recipe.prepare(try recipe.settings())
        let test = LRRangeTest(startLR: startLR, endLR: endLR, iterations: iterations, stopOnDivergence: !noStopDiv)
        let recorder = try runRangeTest(prepared, test, quiet: json)
        guard let chosen = recorder.suggestions.first(where: { $0.method == suggest }) else {
            throw reportRefusal(file: recipe.data, "the loss curve is too short for a suggestion (\(recorder.learningRates.count) batches)")
        }
        if let plot {
            try reportingErrors(file: plot) { try writeChart(recorder, chosen: suggest, to: plot) }
        }
        if json {
            try printJSON(LRFindReport(recorder, chosen: chosen))
            return
        }
        for s in recorder.suggestions {
            let name = s.method.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
            print("  \(name) " + String(format: "%.3e", s.learningRate) + (s.method == suggest ? "   ← suggested" : ""))
        }
        print("suggested --lr \(String(format: "%.3g", chosen.learningRate)) (\(suggest.rawValue))" + (plot.map { "; chart: \($0)" } ?? ""))
    }
}

/// `lr-find --json`: the curve and the suggestions.
struct LRFindReport: Encodable {
    let suggested: Double
    let method: String
    let suggestions: [String: Double]
    let learning_rates: [Double]
    /// Null where the loss was not finite (JSON has no NaN).
    let smoothed_losses: [Float?]
    let stopped_on_divergence: Bool

    init(_ r: LRRangeRecorder, chosen: LRSuggestion) {
        suggested = chosen.learningRate
        method = chosen.method.rawValue
        suggestions = Dictionary(uniqueKeysWithValues: r.suggestions.map { ($0.method.rawValue, $0.learningRate) })
        learning_rates = r.learningRates
        smoothed_losses = r.smoothedLosses.map { $0.isFinite ? $0 : nil }
        stopped_on_divergence = r.stoppedOnDivergence
    }
}

/// The range test on a prepared model, with a progress line on a terminal.
func runRangeTest(_ prepared: RecipeOptions.Prepared, _ test: LRRangeTest, quiet: Bool) throws -> LRRangeRecorder {
    var s = prepared.settings
    s.schedule = .constant
    let tuner = try prepared.tuner(s)
    let progress = !quiet && isatty(2) != 0
    if !quiet { print("lr-find: \(prepared.arch), \(test.iterations) batches from \(test.startLR) to \(test.endLR)") }
    let recorder = try reportingErrors(file: prepared.dataset.root) {
        try tuner.findLearningRate(test) { i, lr, loss in
            guard progress else { return }
            FileHandle.standardError.write(Data(String(format: "\rlr-find %d/%d  lr %.2e  loss %.4f ", i, test.iterations, lr, loss).utf8))
        }
    }
    if progress { FileHandle.standardError.write(Data(("\r" + String(repeating: " ", count: 60) + "\r").utf8)) }
    return recorder
}

func writeChart(_ recorder: LRRangeRecorder, chosen: LRSuggestion.Method, to path: String) throws {
    let writer = try AtomicFileWriter(destination: path)
    try writer.write(Array(LRFindChart.svg(recorder, chosen: chosen).utf8))
    try writer.commit()
}

extension FineTune {
    /// `finetune` without --lr: the range test's valley suggestion, and the curve for the chart.
    func suggestLearningRate(_ prepared: RecipeOptions.Prepared) throws -> (Double, LRRangeRecorder) {
        let recorder = try runRangeTest(prepared, LRRangeTest(), quiet: json)
        guard let valley = recorder.suggestions.first(where: { $0.method == .valley }) else {
            throw reportRefusal(file: recipe.data, "too few batches for a learning-rate suggestion; give --lr")
        }
        if !json { print("lr-find suggests --lr \(String(format: "%.3g", valley.learningRate)) (valley)") }
        return (valley.learningRate, recorder)
    }
}
