import GraftImage
import GraftTestSupport
import XCTest

/// Decoding and every resize must give Pillow's bytes exactly (sha256 of the RGB buffer).
final class ResizeExactnessTests: XCTestCase {
    func testDecodedPixelsMatchPillowConvertRGB() throws {
        let manifest = try ImageFixtureManifest.load()
        XCTAssertGreaterThanOrEqual(manifest.images.count, 40)
        for (name, entry) in manifest.images.sorted(by: { $0.key < $1.key }) {
            let image = try ImageDecoder.decode(path: TestPaths.fixture("images/\(name)"))
            XCTAssertEqual(image.width, entry.width, name)
            XCTAssertEqual(image.height, entry.height, name)
            XCTAssertEqual(sha256Hex(image.pixels), entry.rgb_sha256,
                           "\(name) (Pillow mode \(entry.mode ?? "?"))")
        }
    }

    func testResizeMatchesPillowForEveryFilterAndSize() throws {
        let manifest = try ImageFixtureManifest.load()
        var checked = 0, identical = 0
        var perFilter: [ResampleFilter: (Int, Int)] = [:]
        for (name, entry) in manifest.images.sorted(by: { $0.key < $1.key }) {
            let image = try ImageDecoder.decode(path: TestPaths.fixture("images/\(name)"))
            for r in entry.resizes {
                let out = try Resampler.resize(image, width: r.width, height: r.height, filter: r.filter)
                XCTAssertEqual(out.width, r.width)
                XCTAssertEqual(out.height, r.height)
                let same = sha256Hex(out.pixels) == r.sha256
                XCTAssertTrue(same, "\(name) \(r.filter) → \(r.width)x\(r.height) differs from Pillow")
                checked += 1
                if same { identical += 1 }
                let tally = perFilter[r.filter] ?? (0, 0)
                perFilter[r.filter] = (tally.0 + (same ? 1 : 0), tally.1 + 1)
            }
        }
        for f in ResampleFilter.allCases {
            let t = perFilter[f] ?? (0, 0)
            print("resize exactness \(f.rawValue): \(t.0)/\(t.1) bit-identical to Pillow \(manifest.pillow)")
        }
        XCTAssertGreaterThan(checked, 1000)
        XCTAssertEqual(identical, checked)
    }

    /// The raw dumps say where a difference is, when there is one.
    func testRawResizeDumpsMatch() throws {
        let manifest = try ImageFixtureManifest.load()
        var cases = 0
        for (name, entry) in manifest.images {
            for raw in entry.raw ?? [] {
                let image = try ImageDecoder.decode(path: TestPaths.fixture("images/\(name)"))
                let out = try Resampler.resize(image, width: raw.width, height: raw.height, filter: raw.filter)
                let expected = try fixtureBytes(raw.file)
                XCTAssertTrue(out.pixels == expected,
                              "\(raw.file): " + firstDifference(out.pixels, expected, width: raw.width))
                cases += 1
            }
        }
        XCTAssertGreaterThanOrEqual(cases, 4)
    }

    func testFullSizePhotosDecodeAndResizeLikePillow() throws {
        guard let shared = TestPaths.sharedFixtures else {
            throw XCTSkip("../shared/fixtures is absent: full-size photo checks skipped")
        }
        let manifest = try ImageFixtureManifest.load()
        XCTAssertEqual(manifest.shared_photos.count, 3)
        for (name, entry) in manifest.shared_photos.sorted(by: { $0.key < $1.key }) {
            let path = shared.appendingPathComponent("images/\(name)").path
            let image = try ImageDecoder.decode(path: path)
            XCTAssertEqual(image.width, entry.width, name)
            XCTAssertEqual(image.height, entry.height, name)
            XCTAssertEqual(sha256Hex(image.pixels), entry.rgb_sha256, "\(name) decode differs from Pillow")
            for r in entry.resizes {
                let out = try Resampler.resize(image, width: r.width, height: r.height, filter: r.filter)
                XCTAssertEqual(sha256Hex(out.pixels), r.sha256,
                               "\(name) \(r.filter) → \(r.width)x\(r.height)")
            }
        }
    }

    func testSameSizeResizeIsTheIdentity() throws {
        let image = try ImageDecoder.decode(path: TestPaths.fixture("images/png_rgb8_37x29.png"))
        for f in ResampleFilter.allCases {
            XCTAssertEqual(try Resampler.resize(image, width: 37, height: 29, filter: f), image)
        }
    }

    func testResizeRejectsImpossibleSizes() throws {
        let image = try RGBImage(width: 2, height: 2)
        XCTAssertThrowsError(try Resampler.resize(image, width: 0, height: 5, filter: .bilinear))
        XCTAssertThrowsError(try Resampler.resize(image, width: 5, height: -1, filter: .nearest))
        XCTAssertThrowsError(try Resampler.resize(image, width: 1 << 20, height: 1 << 20, filter: .bicubic))
    }
}
