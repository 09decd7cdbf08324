import Crypto
import Foundation
import GraftCore
import GraftTensor
import GraftTestSupport
import GraftTrain
import XCTest

/// MixUp/CutMix against timm's Mixup (Fixtures/train/mixup.json from tools/make_mixup_fixtures.py):
/// with timm's drawn parameters the mixed batch is byte-identical and the soft targets equal; the
/// CutMix box and corrected λ follow timm's rule; λ's distribution is Beta(α, α).
final class MixUpTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let seed: Int
            let lam: Double
            let cutmix: Bool
            let box: [Int]?
            let sha256: String
            let targets: [Float]
        }
        let shape: [Int]
        let labels: [Int]
        let classes: Int
        let label_smoothing: Float
        let cases: [Case]
    }

    func testMixingWithTimmsParametersGivesTimmsBatchAndTargets() throws {
        let f = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("train/mixup.json"))))
        let n = f.shape.reduce(1, *)
        let x = try Tensor(shape: f.shape, values: (0..<n).map { Float($0 % 17) / Float(17) })
        XCTAssertEqual(f.cases.count, 8)
        for c in f.cases {
            var p = MixParameters(lam: c.lam)
            if let b = c.box {
                p.box = (b[0], b[1], b[2], b[3])
                // The corrected λ is 1 − the pasted area's share.
                XCTAssertEqual(1 - Double((b[1] - b[0]) * (b[3] - b[2])) / Double(f.shape[2] * f.shape[3]), c.lam, "seed \(c.seed)")
            }
            let mixed = try MixUp.mix(x, p)
            let digest = mixed.values.withUnsafeBytes { SHA256.hash(data: Data($0)) }.map { String(format: "%02x", $0) }.joined()
            XCTAssertEqual(digest, c.sha256, "seed \(c.seed) (\(c.cutmix ? "CutMix" : "MixUp") λ \(c.lam))")
            let t = try MixUp.targets(labels: f.labels, classes: f.classes, lam: c.lam, smoothing: f.label_smoothing)
            XCTAssertEqual(t.values, c.targets, "seed \(c.seed) targets")
        }
    }

    func testCutMixBoxFollowsTimmsClipping() {
        // A 7×9 image, λ 0.5: cut √0.5 of each side (4×6), centred at the corner → clipped to 2×3.
        let p = MixUp.cutmixBox(height: 7, width: 9, cutH: 4, cutW: 6, cy: 0, cx: 0)
        XCTAssertEqual(p.box?.yl, 0); XCTAssertEqual(p.box?.yh, 2)
        XCTAssertEqual(p.box?.xl, 0); XCTAssertEqual(p.box?.xh, 3)
        XCTAssertEqual(p.lam, 1 - 6.0 / 63, accuracy: 1e-15)
    }

    func testLambdaFollowsBetaAndTheSwitch() {
        var rng = SplitMix64(seed: 11)
        for alpha in [0.2, 0.8, 1.0, 2.0] {
            var s = MixUpSettings(mixupAlpha: alpha)
            s.prob = 1
            let draws = (0..<20_000).map { _ in MixUp.sample(s, height: 8, width: 8, using: &rng).lam }
            let mean = draws.reduce(0, +) / Double(draws.count)
            let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count)
            // Beta(α, α): mean 1/2, variance 1 / (4(2α + 1)).
            XCTAssertEqual(mean, 0.5, accuracy: 0.01, "α \(alpha)")
            XCTAssertEqual(variance, 1 / (4 * (2 * alpha + 1)), accuracy: 0.01 / (2 * alpha + 1), "α \(alpha)")
            XCTAssertTrue(draws.allSatisfy { (0...1).contains($0) })
        }
        let both = MixUpSettings(mixupAlpha: 0.8, cutmixAlpha: 1.0)
        let cuts = (0..<4000).filter { _ in MixUp.sample(both, height: 16, width: 16, using: &rng).box != nil }.count
        XCTAssertEqual(Double(cuts) / 4000, 0.5, accuracy: 0.04, "switch probability 0.5")
    }
}
