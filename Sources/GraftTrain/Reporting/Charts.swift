import Foundation
import GraftImage

/// The images a fine-tuning run leaves beside its store (`FineTuneOutput.save(to:)`).
public enum TrainingCharts {
    static let blue: Canvas.Color = (31, 119, 180), orange: Canvas.Color = (255, 127, 14), green: Canvas.Color = (44, 160, 44)
    static let grey: Canvas.Color = (220, 220, 220), dark: Canvas.Color = (60, 60, 60)

    /// Two panels: train/validation loss per epoch, and validation accuracy (top-1, top-5) per epoch.
    public static func curves(_ history: [EpochReport]) throws -> RGBImage {
        var canvas = Canvas(width: 960, height: 420)
        canvas.text("Training curves (\(history.count) epochs)", x: 20, y: 8, dark)
        let epochs = history.map { Double($0.epoch) }
        let losses = history.map(\.trainLoss) + history.map(\.valLoss)
        panel(&canvas, x: 20, y: 40, w: 440, h: 340, title: "loss", xs: epochs,
              series: [("train loss", history.map(\.trainLoss), blue), ("val loss", history.map(\.valLoss), orange)],
              yRange: (0, max(losses.max() ?? 1, 1e-6) * 1.1))
        panel(&canvas, x: 500, y: 40, w: 440, h: 340, title: "validation accuracy", xs: epochs,
              series: [("val acc", history.map(\.valAccuracy), green), ("val top-5", history.map(\.valTop5), dark)],
              yRange: (0, 1))
        return try canvas.image()
    }

    private static func panel(_ c: inout Canvas, x: Int, y: Int, w: Int, h: Int, title: String, xs: [Double],
                              series: [(String, [Double], Canvas.Color)], yRange: (Double, Double)) {
        let left = x + 50, bottom = y + h - 30, top = y + 20, right = x + w - 10
        c.text(title, x: left, y: y, dark)
        let (lo, hi) = yRange
        for i in 0...4 {
            let v = lo + (hi - lo) * Double(i) / 4
            let py = bottom - Int(Double(bottom - top) * Double(i) / 4)
            c.line(left, py, right, py, grey)
            c.text(String(format: "%.2f", v), x: x, y: py - 5, dark)
        }
        c.line(left, top, left, bottom, dark)
        c.line(left, bottom, right, bottom, dark)
        let x0 = xs.first ?? 1, x1 = max(xs.last ?? 1, x0 + 1)
        func px(_ v: Double) -> Int { left + Int(Double(right - left) * (v - x0) / (x1 - x0)) }
        func py(_ v: Double) -> Int { bottom - Int(Double(bottom - top) * min(max((v - lo) / max(hi - lo, 1e-12), 0), 1)) }
        for e in xs where xs.count <= 20 || Int(e) % max(1, xs.count / 10) == 0 {
            c.text(String(Int(e)), x: px(e) - 3, y: bottom + 6, dark)
        }
        c.text("epoch", x: (left + right) / 2 - 15, y: bottom + 18, dark)
        for (k, (name, values, color)) in series.enumerated() {
            for i in 0..<values.count {
                if i > 0 { c.line(px(xs[i - 1]), py(values[i - 1]), px(xs[i]), py(values[i]), color, thickness: 2) }
                c.fill(x: px(xs[i]) - 2, y: py(values[i]) - 2, w: 5, h: 5, color)
            }
            // Legend on the title line, right-aligned, so it never covers a curve.
            let lx = right - (series.count - k) * 110, ly = y
            c.fill(x: lx, y: ly + 4, w: 12, h: 4, color)
            c.text(name, x: lx + 16, y: ly, dark)
        }
    }

    /// A confusion matrix heat map: rows are true classes, columns predictions, counts in each cell.
    public static func confusion(_ matrix: [[Int]], classes: [String]) throws -> RGBImage {
        let n = matrix.count
        let cell = max(24, min(60, 600 / max(n, 1)))
        let labelWidth = min(160, (classes.map { Canvas.textWidth($0) }.max() ?? 40) + 10)
        let title = "Confusion matrix (rows: true, columns: predicted)"
        let width = max(labelWidth + n * cell + 20, Canvas.textWidth(title) + 20), height = 40 + n * cell + labelWidth
        var c = Canvas(width: width, height: height)
        c.text(title, x: 10, y: 8, dark)
        let peak = max(matrix.flatMap { $0 }.max() ?? 1, 1)
        for i in 0..<n {
            for j in 0..<n {
                let v = matrix[i][j]
                let t = Double(v) / Double(peak)
                let color: Canvas.Color = (UInt8(255 - 200 * t), UInt8(255 - 120 * t), 255)
                let x = labelWidth + j * cell, y = 30 + i * cell
                c.fill(x: x, y: y, w: cell - 1, h: cell - 1, color)
                let s = String(v)
                c.text(s, x: x + (cell - Canvas.textWidth(s)) / 2, y: y + (cell - 11) / 2, t > 0.6 ? (255, 255, 255) : dark)
            }
            let name = String(classes[i].prefix(labelWidth / 6 - 1))
            c.text(name, x: 4, y: 30 + i * cell + (cell - 11) / 2, dark)
        }
        // Column labels, written downwards one character per line.
        for j in 0..<n {
            let name = String(classes[j].prefix(labelWidth / 12))
            for (k, ch) in name.enumerated() {
                c.text(String(ch), x: labelWidth + j * cell + (cell - 6) / 2, y: 34 + n * cell + k * 12, dark)
            }
        }
        return try c.image()
    }

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
