/// Pearson's correlation of two equally long series (Grad-CAM maps against PyTorch's), in float64.
public func pearsonCorrelation(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count && !a.isEmpty, "two series of one length")
    let n = Double(a.count)
    let (ma, mb) = (a.reduce(0.0) { $0 + Double($1) } / n, b.reduce(0.0) { $0 + Double($1) } / n)
    var (sab, saa, sbb) = (0.0, 0.0, 0.0)
    for (x, y) in zip(a, b) {
        let (dx, dy) = (Double(x) - ma, Double(y) - mb)
        sab += dx * dy; saa += dx * dx; sbb += dy * dy
    }
    return sab / (saa * sbb).squareRoot()
}
