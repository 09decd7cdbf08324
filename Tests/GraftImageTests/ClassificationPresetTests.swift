import Foundation
import GraftCore
import GraftImage
import GraftTestSupport
import XCTest

/// torchvision's `weights.transforms()(PIL.Image.open(p).convert("RGB"))` against the float32
/// references in ../shared/fixtures, and the building blocks on small cases.
final class ClassificationPresetTests: XCTestCase {
    static let presets: [(prefix: String, preset: ClassificationPreset)] = [
        ("pre_resnet50_IMAGENET1K_V1_", .imagenetV1),
        ("pre_resnet50_IMAGENET1K_V2_", .resnetV2),
        ("pre_efficientnet_b0_IMAGENET1K_V1_", .efficientNetB0),
        ("pre_efficientnet_v2_s_IMAGENET1K_V1_", .efficientNetV2S),
    ]
    static let photos = ["astronaut.png", "rocket.jpg", "hubble_deep_field.jpg"]

    func sharedFixtures() throws -> URL {
        guard let shared = TestPaths.sharedFixtures else {
            throw XCTSkip("../shared/fixtures is absent: torchvision preset references skipped")
        }
        return shared
    }

    /// (max |difference|, share of bit-identical values)
    func compare(_ tensor: ImageTensor, _ reference: [Float]) -> (Float, Double) {
        var maxDiff: Float = 0
        var identical = 0
        for (a, b) in zip(tensor.values, reference) {
            maxDiff = max(maxDiff, abs(a - b))
            if a.bitPattern == b.bitPattern { identical += 1 }
        }
        return (maxDiff, Double(identical) / Double(max(reference.count, 1)))
    }

    func testPresetsMatchTorchvisionReferences() throws {
        let shared = try sharedFixtures()
        var files = 0
        for photo in Self.photos {
            let image = try ImageDecoder.decode(path: shared.appendingPathComponent("images/\(photo)").path)
            let stem = (photo as NSString).deletingPathExtension
            for (prefix, preset) in Self.presets {
                let name = "\(prefix)\(stem).npy"
                let reference = try NpyArray(contentsOfFile: shared.appendingPathComponent(name).path)
                let tensor = try preset(image)
                XCTAssertEqual(tensor.shape, reference.shape, name)
                guard tensor.shape == reference.shape else { continue }
                let (maxDiff, identical) = compare(tensor, reference.values)
                print(String(format: "preset %@: max |diff| %.3g, %.4f%% bit-identical", name, maxDiff,
                             identical * 100))
                XCTAssertLessThanOrEqual(maxDiff, 1e-6, name)
                files += 1
            }
        }
        XCTAssertEqual(files, 12)
    }

    /// The model inputs in ../shared were made by the same presets, batched in manifest order.
    func testModelInputBatchesMatch() throws {
        let shared = try sharedFixtures()
        for (file, preset) in [("resnet50_input.npy", ClassificationPreset.resnetV2),
                               ("efficientnet_b0_input.npy", .efficientNetB0)] {
            let reference = try NpyArray(contentsOfFile: shared.appendingPathComponent(file).path)
            XCTAssertEqual(reference.shape, [3, 3, 224, 224], file)
            var batch: [Float] = []
            for photo in Self.photos {
                let image = try ImageDecoder.decode(path: shared.appendingPathComponent("images/\(photo)").path)
                batch += try preset(image).values
            }
            XCTAssertEqual(batch.count, reference.values.count)
            let maxDiff = zip(batch, reference.values).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(maxDiff, 1e-6, file)
        }
    }

    func testResNetV1AndV2PresetsDiffer() throws {
        let shared = try sharedFixtures()
        let image = try ImageDecoder.decode(path: shared.appendingPathComponent("images/rocket.jpg").path)
        let v1 = try ClassificationPreset.imagenetV1(image)
        let v2 = try ClassificationPreset.resnetV2(image)
        XCTAssertEqual(v1.shape, v2.shape)
        XCTAssertNotEqual(v1, v2)
        // And so do torchvision's.
        let r1 = try NpyArray(
            contentsOfFile: shared.appendingPathComponent("pre_resnet50_IMAGENET1K_V1_rocket.npy").path)
        let r2 = try NpyArray(
            contentsOfFile: shared.appendingPathComponent("pre_resnet50_IMAGENET1K_V2_rocket.npy").path)
        XCTAssertNotEqual(r1.values, r2.values)
    }

    func testPresetRoundTripsThroughJSON() throws {
        let preset = ClassificationPreset.efficientNetB0
        let data = try JSONEncoder().encode(preset)
        XCTAssertEqual(try JSONDecoder().decode(ClassificationPreset.self, from: data), preset)
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("\"bicubic\""))
    }

    func testImpossiblePresetsThrowInsteadOfTrapping() throws {
        let image = try RGBImage(width: 4, height: 3)
        XCTAssertThrowsError(try ClassificationPreset(resizeSize: 0, cropSize: 2)(image))
        XCTAssertThrowsError(try ClassificationPreset(resizeSize: 4, cropSize: -1)(image))
        XCTAssertThrowsError(try ClassificationPreset(resizeSize: 4, cropSize: 2, std: [1, 0, 1])(image))
        XCTAssertThrowsError(try ClassificationPreset(resizeSize: 4, cropSize: 2, mean: [0, 0])(image))
    }
}
