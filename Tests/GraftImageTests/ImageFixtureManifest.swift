import Crypto
import Foundation
import GraftImage
import GraftTestSupport

/// `Fixtures/images/manifest.json`, written by `tools/make_image_fixtures.py` from Pillow 13.0.
struct ImageFixtureManifest: Decodable {
    struct Resize: Decodable {
        let filter: ResampleFilter
        let width: Int
        let height: Int
        let sha256: String

        init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            filter = try c.decode(ResampleFilter.self)
            width = try c.decode(Int.self)
            height = try c.decode(Int.self)
            sha256 = try c.decode(String.self)
        }
    }

    struct RawCase: Decodable {
        let filter: ResampleFilter
        let width: Int
        let height: Int
        let file: String
    }

    struct Entry: Decodable {
        let mode: String?
        let width: Int
        let height: Int
        let rgb_sha256: String
        let resizes: [Resize]
        let raw: [RawCase]?
    }

    struct Keras: Decodable {
        let image: String
        let target_height: Int
        let target_width: Int
        let outputs: [String: String]
    }

    let pillow: String
    let images: [String: Entry]
    let hostile: [String]
    let keras: Keras
    let shared_photos: [String: Entry]

    static func load() throws -> ImageFixtureManifest {
        try TestPaths.decodeFixture(ImageFixtureManifest.self, "images/manifest.json")
    }
}

/// The bytes of `Fixtures/images/<name>`.
func fixtureBytes(_ name: String) throws -> [UInt8] { try TestPaths.fixtureBytes("images/\(name)") }

/// Where two equally sized RGB buffers first differ, for failure messages.
func firstDifference(_ a: [UInt8], _ b: [UInt8], width: Int) -> String {
    guard a.count == b.count else { return "sizes differ: \(a.count) vs \(b.count) bytes" }
    var count = 0, maxDiff = 0, first = -1
    for i in 0..<a.count where a[i] != b[i] {
        count += 1
        maxDiff = max(maxDiff, abs(Int(a[i]) - Int(b[i])))
        if first < 0 { first = i }
    }
    guard first >= 0 else { return "identical" }
    let pixel = first / 3
    return "\(count) bytes differ (max \(maxDiff)); first at x=\(pixel % width) y=\(pixel / width) "
        + "channel \(first % 3): \(a[first]) vs \(b[first])"
}
