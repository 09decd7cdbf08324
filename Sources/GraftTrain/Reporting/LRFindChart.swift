import Foundation

/// The range test's curve as a self-contained SVG: smoothed loss against the learning rate on a log
/// axis (without the last five points, as fastai plots it), each suggestion marked and named.
public enum LRFindChart {
    static let colors = ["#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]

    public static func svg(_ recorder: LRRangeRecorder, chosen: LRSuggestion.Method) -> String {
        let (w, h) = (720.0, 440.0), (left, right, top, bottom) = (70.0, 690.0, 40.0, 380.0)
        let n = max(recorder.smoothedLosses.count - 5, min(recorder.smoothedLosses.count, 2))
        let points = zip(recorder.learningRates.prefix(n), recorder.smoothedLosses.prefix(n)).filter { $0.1.isFinite }
        let lrs = points.map(\.0), losses = points.map { Double($0.1) }
        let x0 = floor(log10(lrs.min() ?? 1e-7)), x1 = max(ceil(log10(lrs.max() ?? 10)), x0 + 1)
        // The divergence at the end would flatten everything else: the axis stops at three times the
        // drop from the first point to the lowest (the curve is clipped above it).
        let lo = losses.min() ?? 0, first = losses.first ?? 1
        let hi = max(min(losses.max() ?? 1, lo + 3 * max(first - lo, 0.05 * abs(lo))), lo + 1e-6)
        func px(_ lr: Double) -> Double { left + (right - left) * (log10(lr) - x0) / (x1 - x0) }
        func py(_ loss: Double) -> Double { bottom - (bottom - top) * (loss - lo) / (hi - lo) }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" viewBox="0 0 \(Int(w)) \(Int(h))" \
            font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="24" font-size="16">Learning-rate range test (\(recorder.learningRates.count) batches\
            \(recorder.stoppedOnDivergence ? ", stopped on divergence" : ""))</text>

            """
        for d in stride(from: Int(x0), through: Int(x1), by: 1) {
            let x = px(pow(10, Double(d)))
            out += line(x, top, x, bottom, "#e0e0e0") + text(x, bottom + 18, "1e\(d)", anchor: "middle")
        }
        for i in 0...4 {
            let v = lo + (hi - lo) * Double(i) / 4, y = py(v)
            out += line(left, y, right, y, "#e0e0e0") + text(left - 8, y + 4, String(format: "%.3g", v), anchor: "end")
        }
        out += line(left, bottom, right, bottom, "#333") + line(left, top, left, bottom, "#333")
        out += text((left + right) / 2, bottom + 40, "learning rate (log scale)", anchor: "middle")
        out += "<text transform=\"translate(18 \((top + bottom) / 2)) rotate(-90)\" text-anchor=\"middle\">smoothed loss</text>\n"
        let path = zip(lrs, losses).map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }.joined(separator: " ")
        out += "<clipPath id=\"plot\"><rect x=\"\(left)\" y=\"\(top)\" width=\"\(right - left)\" height=\"\(bottom - top)\"/></clipPath>\n"
        out += "<polyline clip-path=\"url(#plot)\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"\(path)\"/>\n"
        for (i, s) in recorder.suggestions.enumerated() {
            let color = colors[i % colors.count]
            let (x, y) = (px(s.markedRate), py(Double(s.markedLoss)))
            out += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%@\" fill=\"%@\"/>\n", x, y, s.method == chosen ? "7" : "5", color)
            let ly = top + 8 + Double(i) * 20
            out += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%@\"/>\n", right - 190, ly - 4, color)
            out += text(right - 180, ly, "\(s.method.rawValue): \(String(format: "%.2e", s.learningRate))" + (s.method == chosen ? " (chosen)" : ""))
        }
        return out + "</svg>\n"
    }

    static func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ color: String) -> String {
        String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\"/>\n", x0, y0, x1, y1, color)
    }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String = "start") -> String {
        String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%@\">", x, y, anchor) + SVGCharts.escape(s) + "</text>\n"
    }
}
