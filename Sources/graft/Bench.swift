import ArgumentParser
import Dispatch
import Foundation
import Graft

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Median forward latency and throughput of an architecture on random weights.",
        discussion: "tools/bench_anchors.py runs the same cases in PyTorch, ONNX Runtime and OpenVINO beside it and prints the ratio.")

    @Option(help: "A named architecture (resnet50, vgg16, efficientnet_b0, …).") var arch: String
    @Option(help: "Batch size.") var batch = 1
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Timed iterations (the median is reported).") var iterations = 20
    @Option(help: "Untimed warm-up iterations.") var warmup = 3
    @Option(help: "Input height and width.") var size = 224
    @Flag(help: "Time a full training step instead (forward, cross-entropy, backward, SGD with momentum; all layers trainable).")
    var train = false
    @Option(help: InferenceEngineChoice.help) var engine: InferenceEngineChoice = .auto
    @Flag(help: "Print JSON.") var json = false

    struct Report: Encodable {
        let arch: String
        let batch: Int
        let threads: Int
        let size: Int
        let iterations: Int
        let median_ms: Double
        let min_ms: Double
        let mean_ms: Double
        let images_per_s: Double
        let engine: String
        /// Every timed iteration in order, so a tool can see warm-up drift and the machine's spells.
        let times_ms: [Double]
    }

    func run() throws {
        if let threads { Parallel.threads = threads }
        let model = try reportingErrors(file: arch) { try ModelLoader.random(arch: arch, seed: 1) }
        var rng = SeededGenerator(seed: 7)
        let count = batch * 3 * size * size
        let x = try Tensor(shape: [batch, 3, size, size], values: (0..<count).map { _ in rng.nextUnitFloat() * 2 - 1 })
        var step: () throws -> Void = { _ = try model.logits(x) }
        var chosen = "graft"
        if !train {
            let runner = try reportingErrors(file: arch) { try InferenceRunner(model: model, engine: engine) }
            step = { _ = try runner.logits(x) }
            try step()
            chosen = runner.engineName + " (" + runner.choiceReason + ")"
        }
        if train {
            var settings = FineTuneSettings()
            settings.schedule = .constant
            settings.learningRate = .single(0.01)
            try Freezing.apply(model, freeze: .none, unfrozen: [], bn: .train)
            let trainer = Trainer(model: model, settings: settings, totalSteps: warmup + iterations, stepsPerEpoch: 1)
            let labels = (0..<batch).map { $0 % model.numClasses }
            step = { try trainer.trainStep(images: x, labels: labels) }
        }
        for _ in 0..<warmup { try step() }
        var times: [Double] = []
        for _ in 0..<iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            try step()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        let sorted = times.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let report = Report(arch: arch, batch: batch, threads: Parallel.threads, size: size, iterations: iterations,
                            median_ms: median, min_ms: sorted.first ?? 0, mean_ms: times.reduce(0, +) / Double(max(times.count, 1)),
                            images_per_s: Double(batch) / (median / 1000), engine: chosen, times_ms: times)
        if json { return try printJSON(report) }
        print(String(format: "%@%@ batch %d, %d threads, %dx%d: median %.1f ms (min %.1f, mean %.1f), %.1f images/s; engine %@",
                     arch, train ? " training step" : "", batch, report.threads, size, size, median, report.min_ms, report.mean_ms,
                     report.images_per_s, chosen))
    }
}
