import GraftCore
import GraftImage
import XCTest

/// `--augment` values: the named recipes, lists, and the errors a wrong list gets.
final class AugmentRecipeTests: XCTestCase {
    func testNamedRecipesSpellOutAsDocumented() throws {
        XCTAssertEqual(try AugmentRecipe(parsing: "none").steps, [])
        XCTAssertTrue(try AugmentRecipe(parsing: "none").isNone)
        XCTAssertEqual(try AugmentRecipe(parsing: "light").steps, [.randomResizedCrop, .flip(0.5)])
        XCTAssertEqual(try AugmentRecipe(parsing: "light"), .light)
        XCTAssertEqual(try AugmentRecipe(parsing: "trivial").steps, [.randomResizedCrop, .flip(0.5), .trivialAugmentWide])
        XCTAssertEqual(try AugmentRecipe(parsing: "randaugment").steps,
                       [.randomResizedCrop, .flip(0.5), .randAugment(RandAugment(operations: 2, magnitude: 9))])
    }

    func testAListParsesIntoTorchvisionTransforms() throws {
        let r = try AugmentRecipe(parsing: "rrc, flip,rotate:15,jitter:0.2:0.2:0.2,affine:10:0.1:0.2:5,randaugment:3:12,erase:0.25")
        XCTAssertEqual(r.steps, [
            .randomResizedCrop, .flip(0.5), .rotate(RandomRotation(degrees: 15)),
            .jitter(ColorJitter(brightness: 0.2, contrast: 0.2, saturation: 0.2)),
            .affine(RandomAffine(degrees: 10, translate: (0.1, 0.1), scale: 0.8...1.2, shearX: -5...5)),
            .randAugment(RandAugment(operations: 3, magnitude: 12)), .erase(0.25),
        ])
        XCTAssertEqual(r.erasing, RandomErasing(probability: 0.25))
        XCTAssertEqual(RandomRotation(degrees: 15).degrees, -15...15)
        XCTAssertEqual(ColorJitter(brightness: 1.5).brightness, 0...2.5, "the lower bound is clipped at 0")
        XCTAssertEqual(ColorJitter(hue: 0.1).hue, -0.1...0.1)
        XCTAssertNil(ColorJitter(brightness: 0.2).contrast)
        XCTAssertNil(try AugmentRecipe(parsing: "rrc,flip").erasing)
    }

    func testBadListsAreRejectedWithTheReason() {
        let cases: [(String, String)] = [
            ("rrc,blur", "unknown augmentation 'blur' in 'rrc,blur'"),
            ("rrc,,flip", "an empty item"),
            ("rotate", "'rotate' in 'rotate' takes 1 number(s)"),
            ("rotate:abc", "'abc' in 'rotate:abc' is not a number"),
            ("rotate:-5", "degrees must be within 0…180"),
            ("flip:1.5", "the probability must be within 0…1"),
            ("jitter:0.2:0.2", "takes 3 to 4 number(s)"),
            ("jitter:0.2:0.2:0.2:0.7", "the hue must be within 0…0.5"),
            ("affine:10:2", "the translation is a fraction"),
            ("randaugment:2.5", "the number of operations must be a whole"),
            ("randaugment:2:31", "the magnitude must be a whole 0…30"),
            ("flip,rrc", "'rrc' must come first"),
            ("rrc,erase,flip", "'erase' must come last"),
            ("rrc:3", "'rrc:3' in 'rrc:3' takes 0 number(s)"),
            ("", "an empty item"),
        ]
        for (text, reason) in cases {
            XCTAssertThrowsError(try AugmentRecipe(parsing: text), text) { error in
                XCTAssertTrue("\(error)".contains(reason), "'\(text)': \(error)")
            }
        }
    }

    func testWithoutRandomResizedCropTheEvaluationCropComesFirst() throws {
        var pixels: [UInt8] = []
        for i in 0..<(90 * 60) { pixels += [UInt8(i % 256), UInt8(i / 90 % 256), 77] }
        let image = try RGBImage(width: 90, height: 60, pixels: pixels)
        let pipeline = ImagePipeline.torchvision(ClassificationPreset(resizeSize: 40, cropSize: 32))
        var rng = SplitMix64(seed: 1)
        func expected(_ crop: RGBImage) throws -> ImageTensor {
            try ImageTransforms.normalize(ImageTransforms.toScaledTensor(crop),
                                          mean: ClassificationPreset.imagenetMean, std: ClassificationPreset.imagenetStd)
        }
        // flip:0 never flips, so the result is the evaluation crop (converted as v2's ToDtype does).
        let tensor = try pipeline.augment(image, recipe: AugmentRecipe(parsing: "flip:0"), using: &rng)
        XCTAssertEqual(tensor, try expected(pipeline.evaluationCrop(image)))
        XCTAssertNotEqual(tensor, try pipeline.evaluate(image), "the evaluation preset divides by 255 instead")
        let none = try pipeline.augment(image, recipe: .off, using: &rng)
        XCTAssertEqual(none, try pipeline.evaluate(image))
        let flipped = try pipeline.augment(image, recipe: AugmentRecipe(parsing: "flip:1"), using: &rng)
        XCTAssertEqual(flipped, try expected(ImageTransforms.horizontalFlip(pipeline.evaluationCrop(image))))
    }
}
