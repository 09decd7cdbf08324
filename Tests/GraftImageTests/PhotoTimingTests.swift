import GraftImage
import GraftTestSupport
import XCTest

/// Prints how long decoding and preprocessing the shared photos take (best of several runs).
/// Informational only: nothing here asserts on time.
final class PhotoTimingTests: XCTestCase {
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

    func testDecodeAndPreprocessTimes() throws {
        guard let shared = TestPaths.sharedFixtures else {
            throw XCTSkip("../shared/fixtures is absent: photo timings skipped")
        }
        for photo in ["astronaut.png", "rocket.jpg", "hubble_deep_field.jpg"] {
            let path = shared.appendingPathComponent("images/\(photo)").path
            var image = try ImageDecoder.decode(path: path)
            let decode = try best(of: 5) { image = try ImageDecoder.decode(path: path) }
            var tensor = try ClassificationPreset.resnetV2(image)
            let bilinear = try best(of: 5) { tensor = try ClassificationPreset.resnetV2(image) }
            let bicubic = try best(of: 5) { tensor = try ClassificationPreset.efficientNetB0(image) }
            XCTAssertEqual(tensor.shape, [3, 224, 224])
            print(String(format: "timing %@ (%dx%d): decode %.2f ms, resnet50 V2 preset %.2f ms, "
                         + "efficientnet_b0 preset %.2f ms", photo, image.width, image.height,
                         decode, bilinear, bicubic))
        }
    }

    func testLargeImageResizeTime() throws {
        var pixels = [UInt8](repeating: 0, count: 4000 * 3000 * 3)
        for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
        let image = try RGBImage(width: 4000, height: 3000, pixels: pixels)
        for filter in [ResampleFilter.bilinear, .bicubic, .lanczos] {
            var out = image
            let ms = try best(of: 3) {
                out = try ImageTransforms.resizeShorterSide(image, to: 256, filter: filter)
            }
            XCTAssertEqual(out.height, 256)
            print(String(format: "timing 4000x3000 → %dx256 %@: %.1f ms", out.width, filter.rawValue, ms))
        }
    }
}
