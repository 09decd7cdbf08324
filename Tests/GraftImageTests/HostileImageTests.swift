#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GraftCore
import GraftImage
import GraftTestSupport
import XCTest

/// Broken and malicious images: a typed error naming the file, never a crash, nothing printed.
final class HostileImageTests: XCTestCase {
    enum Kind: Equatable { case truncated, corrupt, tooLarge, unsupportedFormat, unsupportedLayout }

    static let expected: [String: Kind] = [
        "empty.png": .truncated,
        "bad_magic.png": .unsupportedFormat,
        "png_signature_only.png": .truncated,
        "png_truncated_idat.png": .truncated,
        "png_huge_dimensions.png": .tooLarge,
        "png_pixel_bomb.png": .tooLarge,
        "png_zero_width.png": .corrupt,
        "png_bad_depth.png": .corrupt,
        "png_bad_color_type.png": .corrupt,
        "png_ihdr_bad_crc.png": .corrupt,
        "png_idat_bad_crc.png": .corrupt,
        "png_corrupt_zlib.png": .corrupt,
        "png_no_idat.png": .corrupt,
        "png_palette_without_plte.png": .corrupt,
        "jpeg_truncated_header.jpg": .truncated,
        "jpeg_truncated_scan.jpg": .truncated,
        "jpeg_progressive_truncated.jpg": .truncated,
        "jpeg_huge_dimensions.jpg": .tooLarge,
        "jpeg_zero_width.jpg": .corrupt,
        "jpeg_12bit_precision.jpg": .unsupportedLayout,
        "jpeg_soi_only.jpg": .corrupt,
        "jpeg_garbage_after_soi.jpg": .truncated,
    ]

    static func kind(of error: ImageError) -> (Kind?, String) {
        switch error {
        case .truncated(let s, _): return (.truncated, s)
        case .corrupt(let s, _): return (.corrupt, s)
        case .tooLarge(let s, _, _, _): return (.tooLarge, s)
        case .unsupportedFormat(let s): return (.unsupportedFormat, s)
        case .unsupportedLayout(let s, _): return (.unsupportedLayout, s)
        case .unreadable(let s, _): return (nil, s)
        case .invalidArgument: return (nil, "")
        }
    }

    func testEveryHostileFixtureFailsWithTheRightTypedError() throws {
        let manifest = try ImageFixtureManifest.load()
        XCTAssertEqual(Set(manifest.hostile), Set(Self.expected.keys), "fixture list and expectations disagree")
        for (name, expected) in Self.expected.sorted(by: { $0.key < $1.key }) {
            let path = TestPaths.fixture("images/hostile/\(name)")
            XCTAssertThrowsError(try ImageDecoder.decode(path: path), name) { error in
                guard let e = error as? ImageError else { return XCTFail("\(name): untyped \(error)") }
                let (kind, source) = Self.kind(of: e)
                print("hostile \(name): \(e)")
                XCTAssertEqual(kind, expected, "\(name): \(e)")
                XCTAssertEqual(source, path)
                XCTAssertTrue(e.description.hasPrefix(path), e.description)
            }
        }
    }

    func testTooLargeIsRefusedBeforeAllocating() throws {
        let path = TestPaths.fixture("images/hostile/png_pixel_bomb.png")
        XCTAssertThrowsError(try ImageDecoder.decode(path: path)) { error in
            XCTAssertEqual(error as? ImageError,
                           .tooLarge(source: path, width: 30000, height: 30000, limits: DecodeLimits()))
        }
        // Tighter limits apply to valid files too.
        let small = TestPaths.fixture("images/jpeg_420_37x29.jpg")
        let limits = DecodeLimits(maxSide: 36, maxPixels: 1 << 20)
        XCTAssertThrowsError(try ImageDecoder.decode(path: small, limits: limits)) { error in
            XCTAssertEqual(error as? ImageError,
                           .tooLarge(source: small, width: 37, height: 29, limits: limits))
        }
        let fewPixels = DecodeLimits(maxSide: 100, maxPixels: 37 * 29 - 1)
        XCTAssertThrowsError(try ImageDecoder.decode(path: TestPaths.fixture("images/png_rgb8_37x29.png"),
                                                     limits: fewPixels))
    }

    func testMissingFilesAndDirectoriesAreUnreadable() {
        for path in ["/nonexistent/graft.png", TestPaths.fixture("images")] {
            XCTAssertThrowsError(try ImageDecoder.decode(path: path)) { error in
                guard case .unreadable(let source, _)? = error as? ImageError else {
                    return XCTFail("\(path): \(error)")
                }
                XCTAssertEqual(source, path)
            }
        }
    }

    /// Every prefix of a small PNG and JPEG, and random byte flips: each either decodes or throws
    /// an ImageError (a crash would end the test run).
    func testTruncationsAndBitFlipsNeverCrash() throws {
        var rng = SplitMix64(seed: 42)
        // GRAFT_IMAGE_FUZZ_FLIPS raises the number of mutants per file for a deeper run.
        let flips = ProcessInfo.processInfo.environment["GRAFT_IMAGE_FUZZ_FLIPS"].flatMap { Int($0) } ?? 300
        var decoded = 0, rejected = 0
        for name in ["png_pal4_37x29.png", "png_rgb8_adam7_37x29.png", "jpeg_420_37x29.jpg",
                     "jpeg_progressive_65x49.jpg", "jpeg_ycck_37x29.jpg", "png_gray16_37x29.png"] {
            let bytes = try fixtureBytes(name)
            var variants: [[UInt8]] = stride(from: 0, to: bytes.count, by: 7).map { Array(bytes[..<$0]) }
            for _ in 0..<flips {
                var v = bytes
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    let i = Int(rng.next() % UInt64(v.count))
                    v[i] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                }
                variants.append(v)
            }
            for v in variants {
                do {
                    let image = try ImageDecoder.decode(data: v, source: name)
                    XCTAssertEqual(image.pixels.count, image.width * image.height * 3)
                    decoded += 1
                } catch let error as ImageError {
                    XCTAssertTrue(error.description.hasPrefix(name), error.description)
                    rejected += 1
                }
            }
        }
        print("mutants: \(decoded) decoded, \(rejected) rejected with a typed error")
        XCTAssertGreaterThan(rejected, 100)
        XCTAssertGreaterThan(decoded, 10)  // flips inside entropy data decode, as in Pillow
    }

    /// libjpeg and libpng print warnings and errors to stderr by default; the C layer must not.
    func testDecodingPrintsNothingToStderr() throws {
        let log = TestPaths.temporaryDirectory("graft-stderr").appendingPathComponent("stderr.txt")
        XCTAssertTrue(FileManager.default.createFile(atPath: log.path, contents: nil))
        let fd = open(log.path, O_WRONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let saved = dup(2)
        fflush(nil)
        dup2(fd, 2)
        for name in Self.expected.keys {
            _ = try? ImageDecoder.decode(path: TestPaths.fixture("images/hostile/\(name)"))
        }
        // Corrupt entropy data makes libjpeg warn ("Corrupt JPEG data: ...").
        var jpeg = try fixtureBytes("jpeg_420_65x49.jpg")
        for i in stride(from: jpeg.count / 2, to: jpeg.count - 4, by: 37) { jpeg[i] = 0xFF }
        _ = try? ImageDecoder.decode(data: jpeg)
        // An ancillary chunk with a bad CRC makes libpng warn.
        var png = try fixtureBytes("png_rgb8_ancillary_37x29.png")
        if let t = png.indices.first(where: { png[$0...].starts(with: Array("tEXt".utf8)) }) {
            png[t + 5] ^= 0x20
        }
        XCTAssertNoThrow(try ImageDecoder.decode(data: png))
        fflush(nil)
        dup2(saved, 2)
        close(saved)
        close(fd)
        let printed = try String(contentsOf: log, encoding: .utf8)
        XCTAssertEqual(printed, "", "decoders wrote to stderr")
        try? FileManager.default.removeItem(at: log.deletingLastPathComponent())
    }
}
