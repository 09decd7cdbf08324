import Foundation

/// Vector charts for the training report and the files beside a fine-tune's output: line charts with
/// axes, ticks and a legend, and a confusion matrix with its class names. Plain SVG 1.1 text, readable
/// in any browser and embeddable in HTML as it is.
public enum SVGCharts {
    public struct Series {
        public let name: String
        public let color: String
        public let points: [(x: Double, y: Double)]
        public init(_ name: String, color: String, points: [(x: Double, y: Double)]) {
            self.name = name; self.color = color; self.points = points
        }
    }

    static let font = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""

    /// A line chart; `logY` puts y on a log₁₀ scale (learning rates), `yRange` fixes the y axis (accuracy).
    public static func lineChart(title: String, xLabel: String, yLabel: String, series: [Series], logY: Bool = false,
                                 yRange: ClosedRange<Double>? = nil, dots: Bool = true, width: Int = 420, height: Int = 280) -> String {
        let (left, right, top, bottom) = (64.0, Double(width) - 16, 34.0, Double(height) - 46)
        let all = series.flatMap(\.points).filter { !logY || $0.y > 0 }
        let transform: (Double) -> Double = logY ? { log10($0) } : { $0 }
        let xs = all.map(\.x), ys = all.map { transform($0.y) }
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1)
        var (y0, y1) = yRange.map { (transform($0.lowerBound), transform($0.upperBound)) } ?? (ys.min() ?? 0, ys.max() ?? 1)
        if x1 - x0 <= 1e-9 * max(abs(x0), abs(x1)) { x0 -= 0.5; x1 += 0.5 }
        if y1 - y0 <= 1e-9 * max(abs(y0), abs(y1)) { y0 -= logY ? 0.5 : max(abs(y0) * 0.1, 0.05); y1 += logY ? 0.5 : max(abs(y1) * 0.1, 0.05) }
        if yRange == nil && !logY { let pad = (y1 - y0) * 0.06; y0 -= pad; y1 += pad }
        func px(_ v: Double) -> Double { left + (right - left) * (v - x0) / (x1 - x0) }
        func py(_ v: Double) -> Double { bottom - (bottom - top) * (transform(v) - y0) / (y1 - y0) }

        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" \(font) font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(width / 2)\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(escape(title))</text>\n"
        for t in ticks(y0, y1) {
            let y = bottom - (bottom - top) * (t - y0) / (y1 - y0)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(right))\" y2=\"\(f(y))\" stroke=\"#e4e4e4\"/>"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(logY ? "1e\(Int(t.rounded()))" : label(t))</text>\n"
        }
        for t in ticks(x0, x1) where t == t.rounded() || x1 - x0 < 4 {
            s += "<text x=\"\(f(px(t)))\" y=\"\(f(bottom + 16))\" text-anchor=\"middle\">\(label(t))</text>\n"
        }
        s += "<path d=\"M\(f(left)) \(f(top))V\(f(bottom))H\(f(right))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(f((left + right) / 2))\" y=\"\(height - 8)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text transform=\"translate(14 \(f((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (i, line) in series.enumerated() {
            let points = line.points.filter { !logY || $0.y > 0 }
            let d = points.enumerated().map { j, p in "\(j == 0 ? "M" : "L")\(f(px(p.x))) \(f(py(p.y)))" }.joined()
            s += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\"/>\n"
            for p in points where dots { s += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"2.5\" fill=\"\(line.color)\"/>" }
            let ly = top + 4 + Double(i) * 16
            s += "\n<line x1=\"\(f(right - 130))\" y1=\"\(f(ly))\" x2=\"\(f(right - 112))\" y2=\"\(f(ly))\" stroke=\"\(line.color)\" stroke-width=\"3\"/>"
            s += "<text x=\"\(f(right - 106))\" y=\"\(f(ly + 4))\">\(escape(String(line.name.prefix(18))))</text>\n"
        }
        return s + "</svg>\n"
    }

    /// `confusion[true][predicted]` as a blue heat map with counts, class names along both axes.
    public static func confusion(_ matrix: [[Int]], classes: [String]) -> String {
        let n = matrix.count
        let cell = max(22, min(56, 560 / max(n, 1)))
        let names = (0..<n).map { $0 < classes.count ? classes[$0] : "class \($0)" }
        let labelWidth = min(180, (names.map(\.count).max() ?? 5) * 7 + 12)
        let (gx, gy) = (labelWidth + 28, 40)
        let title = "Confusion matrix (rows: true class, columns: predicted)"
        let width = max(gx + n * cell + 20, title.count * 8 + 20), height = gy + n * cell + labelWidth + 30
        let rowTotals = matrix.map { $0.reduce(0, +) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" \(font) font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(width / 2)\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(title)</text>\n"
        for (i, row) in matrix.enumerated() {
            for (j, count) in row.enumerated() {
                let share = rowTotals[i] > 0 ? Double(count) / Double(rowTotals[i]) : 0
                let shade = Int((255 - 200 * share).rounded())
                let (x, y) = (gx + j * cell, gy + i * cell)
                s += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"rgb(\(shade),\(min(255, shade + 25)),255)\" stroke=\"#ccc\"/>"
                s += "<text x=\"\(x + cell / 2)\" y=\"\(y + cell / 2 + 4)\" text-anchor=\"middle\" fill=\"\(share > 0.55 ? "white" : "black")\">\(count)</text>\n"
            }
            s += "<text x=\"\(gx - 6)\" y=\"\(gy + i * cell + cell / 2 + 4)\" text-anchor=\"end\">\(escape(names[i]))</text>\n"
            let x = gx + i * cell + cell / 2 + 4, y = gy + n * cell + 8
            s += "<text transform=\"translate(\(x) \(y)) rotate(-60)\" text-anchor=\"end\">\(escape(names[i]))</text>\n"
        }
        s += "<text transform=\"translate(12 \(gy + n * cell / 2)) rotate(-90)\" text-anchor=\"middle\" font-weight=\"bold\">true</text>\n"
        s += "<text x=\"\(gx + n * cell / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\" font-weight=\"bold\">predicted</text>\n"
        return s + "</svg>\n"
    }

    /// About five round values covering [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        // A range too narrow for its magnitude (a constant series, off by rounding) has no steps to take.
        guard hi > lo, lo.isFinite, hi.isFinite, hi - lo > 1e-9 * max(abs(lo), abs(hi)) else { return [lo] }
        let raw = (hi - lo) / 5, magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = ceil(lo / step)
        var values: [Double] = []
        for i in 0..<12 {
            let t: Double = (first + Double(i)) * step
            if t > hi + step * 1e-9 { break }
            values.append(abs(t) < step * 1e-9 ? 0 : t)
        }
        return values
    }

    static func label(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
        return String(format: abs(v) < 0.01 ? "%.1e" : "%.3g", v)
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    /// Text for SVG and HTML: the five markup characters escaped, control characters dropped.
    public static func escape(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: if ch.value >= 32 && ch.value != 127 { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }
}
