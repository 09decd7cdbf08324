import Foundation

/// Text beside a fine-tuning run's store (`FineTuneOutput.save(to:)`); its charts are SVG (`SVGCharts`).
public enum TrainingCharts {
    /// The confusion matrix as an aligned text table with per-class accuracy.
    public static func confusionText(_ result: EvaluationResult, classes: [String]) -> String {
        let width = max(8, (classes.map(\.count).max() ?? 4) + 2)
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
        var lines = ["confusion matrix: rows are true classes, columns predictions"]
        lines.append(pad("", width) + classes.map { pad(String($0.prefix(width - 1)), width) }.joined() + pad("acc", 8))
        for (i, row) in result.confusion.enumerated() {
            lines.append(pad(classes[i], width) + row.map { pad(String($0), width) }.joined()
                         + pad(String(format: "%.3f", result.perClassAccuracy[i]), 8))
        }
        lines.append(String(format: "accuracy %.4f, top-5 %.4f, loss %.4f on %d images", result.accuracy, result.top5, result.loss, result.count))
        return lines.joined(separator: "\n") + "\n"
    }
}
