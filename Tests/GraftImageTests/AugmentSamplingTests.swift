import Foundation
import GraftCore
import GraftImage
import GraftTestSupport
import XCTest

/// Graft's random streams are its own, so the sampled parameters are compared with torchvision's as
/// distributions: `tools/make_augment_fixtures.py` records the mean, spread and range of 20 000 draws of
/// each transform's own `make_params` / `forward`, and the same number of Graft's draws must agree
/// within 5 standard errors (a test that a wrong range, scale or rounding would fail).
final class AugmentSamplingTests: XCTestCase {
    struct Stats: Decodable {
        let n: Int, mean: Double, std: Double, min: Double, max: Double
    }
    struct Distributions: Decodable {
        struct Affine: Decodable { let angle, tx, ty, scale_factor, shear_x, shear_y: Stats }
        struct Jitter: Decodable { let brightness, contrast, saturation, hue: Stats; let first_op_counts: [Int] }
        struct Erasing: Decodable { let applied_fraction: Double; let area_fraction, h, w, top, left: Stats }
        struct Auto: Decodable {
            let ops: [String], draws: Int, op_counts: [Int], negative_fraction_of_signed: Double
            let rotate_abs_magnitude: Stats
        }
        let n: Int
        let rotate15_angle: Stats
        let affine: Affine
        let jitter: Jitter
        let erasing: Erasing
        let trivial: Auto
        let randaugment: Auto
    }
    struct Manifest: Decodable { let distributions: Distributions }

    let reference: Distributions? = {
        guard let data = FileManager.default.contents(atPath: TestPaths.fixture("augment/manifest.json")) else { return nil }
        return try? JSONDecoder().decode(Manifest.self, from: data).distributions
    }()

    /// Same mean within 5 standard errors, spread within 5%, and the same range (to within `slack`).
    func assertAgrees(_ values: [Double], _ ref: Stats, slack: Double = 0, _ what: String,
                      file: StaticString = #filePath, line: UInt = #line) {
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n).squareRoot()
        let standardError = (std * std / n + ref.std * ref.std / Double(ref.n)).squareRoot()
        XCTAssertLessThan(abs(mean - ref.mean), 5 * standardError + 1e-12, "\(what) mean \(mean) vs \(ref.mean)", file: file, line: line)
        XCTAssertLessThan(abs(std - ref.std), 0.05 * ref.std + 1e-12, "\(what) std \(std) vs \(ref.std)", file: file, line: line)
        let lo = values.min() ?? .nan, hi = values.max() ?? .nan
        let width = ref.max - ref.min
        XCTAssertTrue(lo >= ref.min - slack - 0.002 * width && hi <= ref.max + slack + 0.002 * width,
                      "\(what) range \(lo)…\(hi) vs \(ref.min)…\(ref.max)", file: file, line: line)
    }

    /// Counts of `k` categories each near `total / k` (binomial, within 5 standard deviations).
    func assertUniform(_ counts: [Int], _ what: String) {
        let total = Double(counts.reduce(0, +)), p = 1 / Double(counts.count)
        let sigma = (total * p * (1 - p)).squareRoot()
        for (i, c) in counts.enumerated() {
            XCTAssertLessThan(abs(Double(c) - total * p), 5 * sigma, "\(what) category \(i): \(c) of \(total)")
        }
    }

    func testRotationAndAffineParametersFollowTorchvision() throws {
        let ref = try XCTUnwrap(reference)
        var rng = SplitMix64(seed: 11)
        let rotation = RandomRotation(degrees: 15)
        assertAgrees((0..<ref.n).map { _ in rotation.angle(using: &rng) }, ref.rotate15_angle, "rotate:15 angle")
        let affine = RandomAffine(degrees: 10, translate: (0.1, 0.2), scale: 0.9...1.1, shearX: -5...5, shearY: -3...3)
        let ps = (0..<ref.n).map { _ in affine.parameters(width: 224, height: 224, using: &rng) }
        assertAgrees(ps.map(\.angle), ref.affine.angle, "affine angle")
        assertAgrees(ps.map { Double($0.translateX) }, ref.affine.tx, "affine tx")
        assertAgrees(ps.map { Double($0.translateY) }, ref.affine.ty, "affine ty")
        assertAgrees(ps.map(\.scale), ref.affine.scale_factor, "affine scale")
        assertAgrees(ps.map(\.shearX), ref.affine.shear_x, "affine shear x")
        assertAgrees(ps.map(\.shearY), ref.affine.shear_y, "affine shear y")
    }

    func testColorJitterFactorsAndOrderFollowTorchvision() throws {
        let ref = try XCTUnwrap(reference)
        var rng = SplitMix64(seed: 12)
        let jitter = ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1)
        let ps = (0..<ref.n).map { _ in jitter.parameters(using: &rng) }
        assertAgrees(ps.compactMap(\.brightness), ref.jitter.brightness, "brightness")
        assertAgrees(ps.compactMap(\.contrast), ref.jitter.contrast, "contrast")
        assertAgrees(ps.compactMap(\.saturation), ref.jitter.saturation, "saturation")
        assertAgrees(ps.compactMap(\.hue), ref.jitter.hue, "hue")
        XCTAssertTrue(ps.allSatisfy { $0.order.sorted() == [0, 1, 2, 3] })
        var first = [0, 0, 0, 0]
        for p in ps { first[p.order[0]] += 1 }
        assertUniform(first, "first adjustment")
        assertUniform(ref.jitter.first_op_counts, "torchvision's first adjustment")
    }

    func testErasingBoxesFollowTorchvision() throws {
        let ref = try XCTUnwrap(reference)
        var rng = SplitMix64(seed: 13)
        let erasing = RandomErasing(probability: 1)
        let boxes = (0..<ref.n).compactMap { _ in erasing.box(width: 224, height: 224, using: &rng) }
        XCTAssertEqual(Double(boxes.count) / Double(ref.n), ref.erasing.applied_fraction, accuracy: 0.01)
        assertAgrees(boxes.map { Double($0.height * $0.width) / (224 * 224) }, ref.erasing.area_fraction, "erased area")
        assertAgrees(boxes.map { Double($0.height) }, ref.erasing.h, slack: 2, "erased height")
        assertAgrees(boxes.map { Double($0.width) }, ref.erasing.w, slack: 2, "erased width")
        assertAgrees(boxes.map { Double($0.top) }, ref.erasing.top, slack: 3, "erased top")
        assertAgrees(boxes.map { Double($0.left) }, ref.erasing.left, slack: 3, "erased left")
        // p = 0.5 erases about half the images.
        let half = RandomErasing()
        let hits = (0..<4000).filter { _ in half.box(width: 64, height: 64, using: &rng) != nil }.count
        XCTAssertEqual(Double(hits) / 4000, 0.5, accuracy: 0.04)
    }

    func testAutoAugmentDrawsFollowTorchvision() throws {
        let ref = try XCTUnwrap(reference)
        for (space, r, perImage) in [(AutoAugmentSpace.trivialAugmentWide, ref.trivial, 1), (.randAugment, ref.randaugment, 2)] {
            XCTAssertEqual(r.ops, AutoAugmentOp.allCases.map(\.rawValue))
            XCTAssertEqual(r.draws, ref.n * perImage)
            var rng = SplitMix64(seed: 14)
            let draws = (0..<r.draws).map { _ in
                space.draw(width: 224, height: 224, magnitudeBin: space == .randAugment ? 9 : nil, using: &rng)
            }
            let counts = AutoAugmentOp.allCases.map { op in draws.filter { $0.op == op }.count }
            assertUniform(counts, "\(space) operations")
            assertUniform(r.op_counts, "torchvision's \(space) operations")
            let signed = draws.filter { $0.op.isSigned && $0.magnitude != 0 }
            let negative = Double(signed.filter { $0.magnitude < 0 }.count) / Double(signed.count)
            XCTAssertEqual(negative, r.negative_fraction_of_signed, accuracy: 0.02, "\(space) signs")
            assertAgrees(draws.filter { $0.op == .rotate }.map { abs($0.magnitude) }, r.rotate_abs_magnitude,
                         "\(space) |rotation|")
        }
    }

    func testTheSameSeedGivesTheSameAugmentedTensor() throws {
        let image = try ImageDecoder.decode(path: TestPaths.fixture("demo/real/coffee.jpg"))
        let pipeline = ImagePipeline.torchvision(ClassificationPreset(resizeSize: 73, cropSize: 64))
        for text in ["trivial", "randaugment", "rrc,flip,rotate:15,affine:10:0.1:0.1:5,jitter:0.2:0.2:0.2:0.05,erase:1"] {
            let recipe = try AugmentRecipe(parsing: text)
            var a = SplitMix64(seed: 5), b = SplitMix64(seed: 5), c = SplitMix64(seed: 6)
            let first = try pipeline.augment(image, recipe: recipe, using: &a)
            XCTAssertEqual(first, try pipeline.augment(image, recipe: recipe, using: &b), text)
            XCTAssertNotEqual(first, try pipeline.augment(image, recipe: recipe, using: &c), text)
            XCTAssertEqual(first.shape, [3, 64, 64])
        }
    }
}
