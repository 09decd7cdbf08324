import Foundation

/// A fine-tune's `report.html`: one self-contained page (inline SVG and images, inline CSS, no scripts,
/// nothing fetched) with the loss and accuracy curves, the learning-rate schedule, the confusion matrix,
/// per-class precision / recall / F1, and the validation images with the highest loss with their
/// Grad-CAM overlays.
public struct TrainingReport {
    public var title: String
    /// One line per fact shown under the title (architecture, data, settings).
    public var facts: [String]
    public var classes: [String]
    public var history: [EpochReport]
    public var validation: EvaluationResult?
    public var examples: [ValidationExample]
    /// The learning rate of each layer group step by step (x in epochs); empty draws the head's
    /// end-of-epoch rates from `history`.
    public var learningRates: [SVGCharts.Series]

    public init(title: String, facts: [String], classes: [String], history: [EpochReport],
                validation: EvaluationResult?, examples: [ValidationExample], learningRates: [SVGCharts.Series] = []) {
        self.title = title; self.facts = facts; self.classes = classes
        self.history = history; self.validation = validation; self.examples = examples
        self.learningRates = learningRates
    }

    /// Each distinct layer group's learning rate over the run's whole schedule, at most `samples`
    /// steps apart evenly (groups with the same base rate drawn once; "(no decay)" twins skipped).
    public static func scheduleSeries(_ trainer: Trainer, samples: Int = 300) -> [SVGCharts.Series] {
        let colors = ["#2ca02c", "#9467bd", "#8c564b", "#ff7f0e"]
        var seen = Set<Float>(), groups: [ParameterGroup] = []
        for g in trainer.optimizer.groups.reversed() where !g.name.hasSuffix("(no decay)") && seen.insert(g.baseLearningRate).inserted {
            groups.append(g)
        }
        let every = max(1, trainer.totalSteps / max(samples, 1))
        let steps = Array(stride(from: 0, to: trainer.totalSteps, by: every)) + [trainer.totalSteps - 1]
        return groups.prefix(colors.count).enumerated().map { i, g in
            SVGCharts.Series(g.name, color: colors[i], points: steps.map { s in
                let factor = trainer.schedule.values(step: s, totalSteps: trainer.totalSteps, stepsPerEpoch: trainer.stepsPerEpoch).lrFactor
                return (x: Double(s + 1) / Double(trainer.stepsPerEpoch), y: Double(g.baseLearningRate) * factor)
            })
        }
    }

    /// Precision, recall, F1 and support of each class from `confusion[true][predicted]` (0 where undefined).
    public static func perClassMetrics(_ confusion: [[Int]]) -> [(precision: Double, recall: Double, f1: Double, support: Int)] {
        confusion.indices.map { c in
            let tp = Double(confusion[c][c])
            let support = confusion[c].reduce(0, +)
            let predicted = confusion.reduce(0) { $0 + ($1.indices.contains(c) ? $1[c] : 0) }
            let precision = predicted > 0 ? tp / Double(predicted) : 0
            let recall = support > 0 ? tp / Double(support) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            return (precision, recall, f1, support)
        }
    }

    /// Loss, accuracy and learning rate against the epoch, three charts side by side in one SVG.
    public func curvesSVG() -> String {
        let epochs = history.map { Double($0.epoch) }
        func series(_ name: String, _ color: String, _ values: [Double]) -> SVGCharts.Series {
            SVGCharts.Series(name, color: color, points: zip(epochs, values).map { (x: $0.0, y: $0.1) })
        }
        let loss = SVGCharts.lineChart(title: "Loss", xLabel: "epoch", yLabel: "cross-entropy",
                                       series: [series("train", "#1f77b4", history.map(\.trainLoss)),
                                                series("validation", "#d62728", history.map(\.valLoss))])
        let accuracy = SVGCharts.lineChart(title: "Accuracy", xLabel: "epoch", yLabel: "top-1 accuracy",
                                           series: [series("train", "#1f77b4", history.map(\.trainAccuracy)),
                                                    series("validation", "#d62728", history.map(\.valAccuracy))], yRange: 0...1)
        let rates: String
        if learningRates.isEmpty {
            rates = SVGCharts.lineChart(title: "Learning rate (head, end of epoch)", xLabel: "epoch", yLabel: "learning rate",
                                        series: [series("lr", "#2ca02c", history.map(\.learningRate))],
                                        logY: history.contains { $0.learningRate > 0 })
        } else {
            rates = SVGCharts.lineChart(title: "Learning-rate schedule", xLabel: "epoch", yLabel: "learning rate",
                                        series: learningRates, logY: learningRates.contains { $0.points.contains { $0.y > 0 } },
                                        dots: false)
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1260\" height=\"280\" viewBox=\"0 0 1260 280\">\n"
        for (i, chart) in [loss, accuracy, rates].enumerated() { s += "<g transform=\"translate(\(i * 420) 0)\">\n\(chart)</g>\n" }
        return s + "</svg>\n"
    }

    public func confusionSVG() -> String? { validation.map { SVGCharts.confusion($0.confusion, classes: classes) } }

    public func html() -> String {
        let e = SVGCharts.escape
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(e(title))</title>
            <style>
            body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px 32px; color: #222; max-width: 1300px; }
            h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
            .facts { color: #555; margin: 0; padding-left: 18px; } .charts svg { max-width: 100%; height: auto; }
            table { border-collapse: collapse; } td, th { padding: 4px 12px; border-bottom: 1px solid #e4e4e4; text-align: right; }
            td:first-child, th:first-child { text-align: left; }
            .grid { display: flex; flex-wrap: wrap; gap: 16px; } figure { margin: 0; width: 256px; }
            figure img { width: 100%; border: 1px solid #ddd; } figcaption { font-size: 13px; margin-top: 4px; }
            .wrong { color: #b00; font-weight: bold; }
            </style></head><body>
            <h1>\(e(title))</h1>
            <ul class="facts">\(facts.map { "<li>\(e($0))</li>" }.joined())</ul>

            """
        h += "<h2>Training curves</h2>\n<div class=\"charts\">\(curvesSVG())</div>\n"
        if let validation, let confusion = confusionSVG() {
            h += "<h2>Validation: \(percent(validation.accuracy)) top-1 on \(validation.count) images</h2>\n"
            h += "<div class=\"charts\">\(confusion)</div>\n"
            h += "<h2>Per-class precision, recall and F1</h2>\n<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>images</th></tr>\n"
            for (i, m) in Self.perClassMetrics(validation.confusion).enumerated() {
                h += "<tr><td>\(e(name(i)))</td><td>\(fixed(m.precision))</td><td>\(fixed(m.recall))</td><td>\(fixed(m.f1))</td><td>\(m.support)</td></tr>\n"
            }
            h += "</table>\n"
        }
        if !examples.isEmpty {
            h += "<h2>Validation images with the highest loss</h2>\n<p>Each with the Grad-CAM of its predicted class: where in the image the prediction came from.</p>\n"
            h += Self.colourScaleSVG() + "<div class=\"grid\">\n"
            for x in examples {
                let verdict = x.trueClass == x.predictedClass ? "correct" : "<span class=\"wrong\">wrong</span>"
                h += "<figure><img alt=\"Grad-CAM of \(e((x.path as NSString).lastPathComponent))\" src=\"data:image/png;base64,\(Data(x.overlayPNG).base64EncodedString())\">"
                h += "<figcaption>\(e((x.path as NSString).lastPathComponent)): true <b>\(e(name(x.trueClass)))</b>, predicted <b>\(e(name(x.predictedClass)))</b> "
                h += "(\(percent(Double(x.probability)))), \(verdict); loss \(fixed(Double(x.loss)))"
                if let why = x.gradCAMUnavailable { h += "<br><i>no Grad-CAM: \(e(String(why.prefix(200))))</i>" }
                h += "</figcaption></figure>\n"
            }
            h += "</div>\n"
        }
        return h + "</body></html>\n"
    }

    /// The Grad-CAM colour scale (jet) from 0 to 1, as a small SVG legend.
    static func colourScaleSVG() -> String {
        let stops = (0...20).map { i -> String in
            let c = GradCAMOverlay.jet(Float(i) / 20)
            return "<stop offset=\"\(i * 5)%\" stop-color=\"rgb(\(c.r),\(c.g),\(c.b))\"/>"
        }.joined()
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="360" height="40" \(SVGCharts.font) font-size="12">\
            <defs><linearGradient id="jet">\(stops)</linearGradient></defs>\
            <text x="0" y="24">Grad-CAM</text><text x="70" y="24">0</text>\
            <rect x="82" y="12" width="240" height="16" fill="url(#jet)" stroke="#999"/><text x="328" y="24">1</text></svg>

            """
    }

    private func name(_ i: Int) -> String { i < classes.count ? classes[i] : "class \(i)" }
    private func percent(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }
    private func fixed(_ v: Double) -> String { String(format: "%.3f", v) }
}
