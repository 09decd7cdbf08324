/// The k largest scores of a row of logits or probabilities, as classification reads them.
public enum TopK {
    /// Offsets (0-based from the row's start) of the `k` largest values, largest first. Ties go to the
    /// lower offset (`torch.topk` and `numpy.argsort` agree on that for a stable sort); NaN ranks below
    /// every number, so a NaN never counts as a prediction.
    public static func indices<Row: RandomAccessCollection>(_ row: Row, k: Int) -> [Int] where Row.Element == Float {
        let values = Array(row)
        guard k > 0 else { return [] }
        let order = values.indices.sorted { i, j in
            let a = values[i], b = values[j]
            if a.isNaN != b.isNaN { return b.isNaN }
            if a != b && !a.isNaN { return a > b }
            return i < j
        }
        return Array(order.prefix(k))
    }
}
