import GraftCore
import GraftImage
import GraftTestSupport
import XCTest

/// Prints what each augmentation costs per 224×224 image, and each recipe per photo (best of several
/// runs), beside the RandomResizedCrop + flip of the default. Informational only: nothing here asserts
/// on time.
final class AugmentTimingTests: XCTestCase {
    func best(of runs: Int, _ body: () throws -> Void) rethrows -> Double {
        var best = Duration.seconds(1_000)
        for _ in 0..<runs {
            let start = ContinuousClock.now
            try body()
            best = min(best, ContinuousClock.now - start)
        }
        let (s, atto) = best.components
        return Double(s) * 1e3 + Double(atto) * 1e-15
    }

    func testAugmentationTimes() throws {
        let photo = try ImageDecoder.decode(path: TestPaths.fixture("demo/real/chelsea.jpg"))
        let crop = try Resampler.resize(photo, width: 224, height: 224, filter: .bilinear)
        for op in AutoAugmentOp.allCases {
            let magnitude = AutoAugmentSpace.trivialAugmentWide.magnitudes(op, bins: 31, width: 224, height: 224)?[15] ?? 0
            var out = crop
            let ms = best(of: 5) { out = op.apply(crop, magnitude: magnitude) }
            XCTAssertEqual(out.width, 224)
            print(String(format: "timing %@ at %.3f on 224x224: %.3f ms", op.rawValue, magnitude, ms))
        }
        let hue = best(of: 5) { _ = ToneCurves.hue(crop, factor: 0.1) }
        print(String(format: "timing hue on 224x224: %.3f ms", hue))
        let pipeline = ImagePipeline.torchvision(ClassificationPreset(cropSize: 224))
        for text in ["light", "trivial", "randaugment", "rrc,flip,rotate:15,affine:10:0.1:0.1:5,jitter:0.4:0.4:0.4:0.1,erase:0.25"] {
            let recipe = try AugmentRecipe(parsing: text)
            var rng = SplitMix64(seed: 1)
            let ms = try best(of: 3) { for _ in 0..<20 { _ = try pipeline.augment(photo, recipe: recipe, using: &rng) } } / 20
            print(String(format: "timing recipe %@ on %dx%d photo: %.2f ms per image", text, photo.width, photo.height, ms))
        }
    }
}
