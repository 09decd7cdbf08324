/// How closely a model's outputs match a reference framework's: `numpy.allclose`'s element test,
/// `|output − reference| ≤ atol + rtol·|reference|`, and what a reader needs beyond pass or fail — the
/// largest differences, how much of the tolerance the worst element used, whether the rankings agree,
/// and any NaN or infinity on either side.
///
/// As `numpy.isclose` (with `equal_nan=False`): a NaN is never close, an infinity is close only to the
/// same infinity. The differences and shares are taken over pairs of finite values, so one NaN does not
/// hide how close everything else is; the non-finite values are counted apart.
///
/// `graft verify` reports it; the parity tests assert on it, so both judge by one definition.
public struct Verification: Sendable, Equatable, Encodable {
    /// NaN and infinity counts of one side.
    public struct NonFinite: Sendable, Equatable, Codable {
        public var nan = 0
        public var infinity = 0
        public var isEmpty: Bool { nan == 0 && infinity == 0 }

        public init(nan: Int = 0, infinity: Int = 0) {
            self.nan = nan
            self.infinity = infinity
        }

        /// The counts in any values (a model's input, say: NaN pixels make every output NaN).
        public init(counting values: [Float]) {
            for v in values { Verification.tally(v, &self) }
        }
    }

    /// The tolerances `graft verify` applies unless told otherwise: float32 logits of a deep network
    /// computed in another order differ by ~1e-5 at magnitudes near 100.
    public static let defaultATol: Float = 1e-4
    public static let defaultRTol: Float = 1e-4

    public let atol: Float
    public let rtol: Float
    /// Rows (the first dimension) and values per row (classes for logits).
    public let samples: Int
    public let classes: Int
    /// The largest |output − reference| over finite pairs.
    public let maxAbsDiff: Float
    /// The largest |Δ| / |reference| over finite pairs (a zero reference counts as the smallest normal float).
    public let maxRelDiff: Float
    /// The largest |Δ| / (atol + rtol·|reference|) over finite pairs: below 1 passes, and how far below
    /// says the margin.
    public let worstToleranceShare: Float
    /// The flat index of the finite pair with that share (nil when there is none).
    public let worstIndex: Int?
    /// Elements that are not close, non-finite mismatches included.
    public let outsideTolerance: Int
    /// Rows whose largest value is at the same index on both sides.
    public let top1Matches: Int
    /// Rows whose five largest values (all of them below five classes) are the same set on both sides.
    public let top5Matches: Int
    public let outputNonFinite: NonFinite
    public let referenceNonFinite: NonFinite

    /// Compares `output` with `reference`; the shapes must be equal, and each array must hold as many
    /// values as its shape says. Rows are the first dimension (one row for a vector).
    public init(output: [Float], shape: [Int], reference: [Float], referenceShape: [Int],
                atol: Float = Verification.defaultATol, rtol: Float = Verification.defaultRTol) throws {
        guard shape == referenceShape else { throw VerificationError.shapeMismatch(output: shape, reference: referenceShape) }
        let count = shape.reduce(1, *)
        guard output.count == count, reference.count == count else {
            throw VerificationError.valueCount(shape: shape, output: output.count, reference: reference.count)
        }
        self.atol = atol
        self.rtol = rtol
        samples = shape.count >= 2 ? shape[0] : 1
        classes = samples == 0 ? 0 : count / samples
        var maxAbs: Float = 0, maxRel: Float = 0, worst: Float = 0, worstAt: Int?, outside = 0
        var outNF = NonFinite(), refNF = NonFinite()
        for i in 0..<count {
            let g = output[i], w = reference[i]
            Self.tally(g, &outNF)
            Self.tally(w, &refNF)
            guard g.isFinite && w.isFinite else {
                // numpy.isclose: only the same infinity is close to an infinity; NaN never is.
                if !(g.isInfinite && g == w) { outside += 1 }
                continue
            }
            let d = abs(g - w), allowed = atol + rtol * abs(w)
            maxAbs = max(maxAbs, d)
            maxRel = max(maxRel, d / max(abs(w), .leastNormalMagnitude))
            let share = d / max(allowed, .leastNormalMagnitude)
            if worstAt == nil || share > worst { worst = share; worstAt = i }
            if !(d <= allowed) { outside += 1 }
        }
        var top1 = 0, top5 = 0
        if classes > 0 {
            for r in 0..<samples {
                let rows = (r * classes)..<((r + 1) * classes)
                let a = TopK.indices(output[rows], k: min(5, classes)), b = TopK.indices(reference[rows], k: min(5, classes))
                if a.first == b.first { top1 += 1 }
                if Set(a) == Set(b) { top5 += 1 }
            }
        }
        maxAbsDiff = maxAbs
        maxRelDiff = maxRel
        worstToleranceShare = worst
        worstIndex = worstAt
        outsideTolerance = outside
        top1Matches = top1
        top5Matches = top5
        outputNonFinite = outNF
        referenceNonFinite = refNF
    }

    /// Every element close (numpy.allclose).
    public var withinTolerance: Bool { outsideTolerance == 0 }

    /// Shares of rows whose top-1 / top-5 agree (0 for no rows).
    public var top1Agreement: Double { Double(top1Matches) / Double(max(samples, 1)) }
    public var top5Agreement: Double { Double(top5Matches) / Double(max(samples, 1)) }

    /// One line for logs and test messages.
    public var summary: String {
        var s = "max |Δ| \(maxAbsDiff), max relative \(maxRelDiff), worst |Δ| / (atol + rtol·|reference|) \(worstToleranceShare)"
        if let i = worstIndex { s += " at index \(i)" }
        s += ", \(outsideTolerance) outside atol \(atol) + rtol \(rtol)·|reference|"
        s += ", top-1 \(top1Matches)/\(samples), top-5 \(top5Matches)/\(samples)"
        if !outputNonFinite.isEmpty { s += ", output has \(outputNonFinite.nan) NaN and \(outputNonFinite.infinity) ±inf" }
        if !referenceNonFinite.isEmpty { s += ", reference has \(referenceNonFinite.nan) NaN and \(referenceNonFinite.infinity) ±inf" }
        return s
    }

    /// The JSON fields (`graft verify --json`): every figure above, the agreements as shares.
    private enum CodingKeys: String, CodingKey {
        case atol, rtol, samples, classes, maxAbsDiff, maxRelDiff, worstToleranceShare, outsideTolerance, withinTolerance
        case top1Agreement, top5Agreement, outputNonFinite, referenceNonFinite
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(atol, forKey: .atol)
        try c.encode(rtol, forKey: .rtol)
        try c.encode(samples, forKey: .samples)
        try c.encode(classes, forKey: .classes)
        try c.encode(maxAbsDiff, forKey: .maxAbsDiff)
        try c.encode(maxRelDiff, forKey: .maxRelDiff)
        try c.encode(worstToleranceShare, forKey: .worstToleranceShare)
        try c.encode(outsideTolerance, forKey: .outsideTolerance)
        try c.encode(withinTolerance, forKey: .withinTolerance)
        try c.encode(top1Agreement, forKey: .top1Agreement)
        try c.encode(top5Agreement, forKey: .top5Agreement)
        try c.encode(outputNonFinite, forKey: .outputNonFinite)
        try c.encode(referenceNonFinite, forKey: .referenceNonFinite)
    }

    fileprivate static func tally(_ v: Float, _ counts: inout NonFinite) {
        if v.isNaN { counts.nan += 1 } else if v.isInfinite { counts.infinity += 1 }
    }
}

public enum VerificationError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(output: [Int], reference: [Int])
    case valueCount(shape: [Int], output: Int, reference: Int)

    public var description: String {
        switch self {
        case .shapeMismatch(let o, let r): return "reference shape \(r), model output \(o)"
        case .valueCount(let s, let o, let r): return "shape \(s) needs \(s.reduce(1, *)) values; the output has \(o), the reference \(r)"
        }
    }
}
