import GraftCore
import GraftImage
import XCTest

/// Seeded randomness and torchvision's RandomResizedCrop parameter algorithm.
final class AugmentationTests: XCTestCase {
    func testSplitMix64MatchesTheReferenceSequence() {
        var rng = SplitMix64(seed: 0)
        XCTAssertEqual(rng.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(rng.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(rng.next(), 0x06C4_5D18_8009_454F)
    }

    func testDrawsStayInRange() {
        var rng = SplitMix64(seed: 7)
        var seen = Set<Int>()
        for _ in 0..<2000 {
            let u = ReproducibleDraw.uniform(0.25...0.5, using: &rng)
            XCTAssertTrue(u >= 0.25 && u < 0.5)
            let i = ReproducibleDraw.integer(upTo: 9, using: &rng)
            XCTAssertTrue((0...9).contains(i))
            seen.insert(i)
        }
        XCTAssertEqual(seen.count, 10)
        XCTAssertEqual(ReproducibleDraw.integer(upTo: 0, using: &rng), 0)
    }

    func testRandomResizedCropBoxesObeyScaleAndRatio() {
        let transform = RandomResizedCrop(size: 32)
        var rng = SplitMix64(seed: 1)
        var fallbacks = 0
        for _ in 0..<500 {
            let box = transform.parameters(width: 300, height: 200, using: &rng)
            XCTAssertTrue(box.top >= 0 && box.left >= 0)
            XCTAssertTrue(box.top + box.height <= 200 && box.left + box.width <= 300)
            let area = Double(box.width * box.height) / 60000
            let ratio = Double(box.width) / Double(box.height)
            if box == (0, 0, 200, 300) { fallbacks += 1; continue }
            // Rounding to whole pixels moves area and ratio slightly past the sampled values.
            XCTAssertTrue(area > 0.07 && area <= 1.0, "area \(area)")
            XCTAssertTrue(ratio > 0.7 && ratio < 1.42, "ratio \(ratio)")
        }
        XCTAssertLessThan(fallbacks, 50)
    }

    func testTheSameSeedGivesTheSameCrops() throws {
        var pixels: [UInt8] = []
        for i in 0..<(40 * 30) { pixels += [UInt8(i % 251), UInt8(i % 13 * 19), UInt8(i % 7 * 36)] }
        let image = try RGBImage(width: 40, height: 30, pixels: pixels)
        let transform = RandomResizedCrop(size: 16, interpolation: .bicubic)
        var a = SplitMix64(seed: 99), b = SplitMix64(seed: 99), c = SplitMix64(seed: 100)
        let first = try (0..<5).map { _ in try transform(image, using: &a) }
        let second = try (0..<5).map { _ in try transform(image, using: &b) }
        let other = try (0..<5).map { _ in try transform(image, using: &c) }
        XCTAssertEqual(first, second)
        XCTAssertNotEqual(first, other)
        XCTAssertTrue(first.allSatisfy { $0.width == 16 && $0.height == 16 })
    }

    func testFallbackIsTheCentralBoxOfTheLimitRatio() {
        // An area of 200-300% of the image never fits: torchvision falls back after 10 tries.
        let transform = RandomResizedCrop(size: 8, scale: 2.0...3.0)
        var rng = SplitMix64(seed: 3)
        // Tall image: ratio 0.25 < 3/4, so w = 50, h = round(50 / 0.75) = 67, top = (200 - 67) / 2.
        let tall = transform.parameters(width: 50, height: 200, using: &rng)
        XCTAssertTrue(tall == (66, 0, 67, 50), "\(tall)")
        // Wide image: h = 10, w = round(10 * 4 / 3) = 13, left = (100 - 13) / 2.
        let wide = transform.parameters(width: 100, height: 10, using: &rng)
        XCTAssertTrue(wide == (0, 43, 10, 13), "\(wide)")
        let square = transform.parameters(width: 30, height: 30, using: &rng)
        XCTAssertTrue(square == (0, 0, 30, 30), "\(square)")
    }

    func testInvalidConfigurationThrows() throws {
        let image = try RGBImage(width: 4, height: 4)
        var rng = SplitMix64(seed: 0)
        XCTAssertThrowsError(try RandomResizedCrop(size: 0)(image, using: &rng))
        XCTAssertThrowsError(try RandomResizedCrop(size: 4, ratio: 0...1)(image, using: &rng))
    }
}
