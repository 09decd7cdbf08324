import Foundation
import GraftCore
import GraftModels
import GraftStore
import GraftTensor
import GraftTestSupport

/// The full-size torchvision references of ../shared/fixtures (`<arch>.pth`, `<arch>_input.npy`,
/// `<arch>_logits.npy`: random weights with perturbed BatchNorm statistics, real-photo inputs), run
/// through any engine and compared as numpy.allclose(atol=1e-4, rtol=1e-4) with top-1 agreement.
public enum FullSizeReferences {
    /// nil when ../shared/fixtures is absent; else the comparison of `logits(model, input)` with torch's.
    public static func compare(_ arch: String, logits: (Model, Tensor) throws -> Tensor) throws -> (verification: Verification, samples: Int)? {
        guard let shared = TestPaths.sharedFixtures else { return nil }
        let model = try ModelLoader.load(arch: arch, store: try WeightStore.open(shared.appendingPathComponent("\(arch).pth").path)).model
        let input = try NpyArray(contentsOfFile: shared.appendingPathComponent("\(arch)_input.npy").path)
        let want = try NpyArray(contentsOfFile: shared.appendingPathComponent("\(arch)_logits.npy").path)
        let got = try logits(model, try Tensor(shape: input.shape, values: input.values))
        let v = try Verification(output: got.values, shape: got.shape, reference: want.values, referenceShape: want.shape,
                                 atol: 1e-4, rtol: 1e-4)
        return (v, want.shape[0])
    }

    /// The zoo scripts' rule (tools/check_zoo_full_*.py): within atol + rtol·|ref| (1e-4 each), or — where
    /// torch's own float32 result is that far from the float64 answer kept in `exact` — no further from
    /// it than a quarter more. The largest |Δ|, its share of the tolerance, and a failure message if any.
    public static func zooRule(got: [Float], want: [Float], exact: [Float]?) -> (worst: Float, share: Float, failure: String?) {
        var worst: Float = 0, share: Float = 0
        for (g, w) in zip(got, want) {
            worst = max(worst, abs(g - w))
            share = max(share, abs(g - w) / (1e-4 + 1e-4 * abs(w)))
        }
        guard share > 1 else { return (worst, share, nil) }
        guard let exact else { return (worst, share, "max |Δ| \(worst), \(share) of the tolerance") }
        let off = zip(got, exact).map { abs($0 - $1) }.max() ?? .infinity
        let torchOff = zip(want, exact).map { abs($0 - $1) }.max() ?? .infinity
        return (worst, share, off <= max(1e-4, 1.25 * torchOff) ? nil : "further from float64 (\(off)) than torch (\(torchOff))")
    }
}
