import Foundation
import GraftImage
import GraftModels
import GraftStore
import XCTest

/// The store's preprocessing record, read and written, and the choice between named weights, the
/// record and the defaults.
final class PreprocessingChoiceTests: XCTestCase {
    let preset = ClassificationPreset(resizeSize: 56, cropSize: 48, interpolation: .bicubic,
                                      mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])

    func store(_ metadata: StoreMetadata) -> WeightStore { WeightStore.inMemory([], metadata: metadata) }

    func testRecordRoundTripsEveryPipelineAndReadsBarePresets() throws {
        for pipeline: ImagePipeline in [.torchvision(preset), .keras(size: 224, mode: .caffe), .keras(size: 240, mode: nil)] {
            var meta = StoreMetadata()
            try meta.record(pipeline)
            // Through the store's own encoding, as a written file would carry it.
            let read = StoreMetadata(decoding: Dictionary(uniqueKeysWithValues: meta.encoded().map { ($0.key, $0.value) }))
            XCTAssertEqual(try read.recordedPipeline(store: "s"), pipeline)
        }
        // Stores written before pipelines hold a bare torchvision preset.
        var legacy = StoreMetadata()
        legacy.preprocessing = String(decoding: try JSONEncoder().encode(preset), as: UTF8.self)
        XCTAssertEqual(try legacy.recordedPipeline(store: "s"), .torchvision(preset))
        XCTAssertNil(try StoreMetadata().recordedPipeline(store: "s"))
    }

    /// Issue 16: records that would steer unbounded work or run the model on nonsense statistics are
    /// errors naming the store, as are records too long or too deeply nested to be one.
    func testImplausibleRecordsAreErrorsNamingTheStore() throws {
        func preset(_ resize: Int, _ crop: Int, mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225],
                    interpolation: String = "bilinear") -> String {
            "{\"torchvision\":{\"_0\":{\"resizeSize\":\(resize),\"cropSize\":\(crop),\"interpolation\":\"\(interpolation)\","
                + "\"mean\":\(mean),\"std\":\(std)}}}"
        }
        var good = StoreMetadata()
        try good.record(.torchvision(ClassificationPreset(resizeSize: 256, cropSize: 224)))
        XCTAssertNotNil(try good.recordedPipeline(store: "s"))
        var plain = StoreMetadata()
        plain.preprocessing = preset(256, 224)  // the template itself reads: each bad case fails for its value
        XCTAssertEqual(try plain.recordedPipeline(store: "s"), .torchvision(ClassificationPreset(resizeSize: 256, cropSize: 224)))
        let bad = [preset(18000, 18000), preset(256, 224, mean: [1e38, 0, 0]), preset(256, 224, std: [1e-30, 1, 1]),
                   preset(256, 224, interpolation: "sinc"), String(repeating: "[", count: 200_000),
                   "{\"keras\":{\"size\":18000}}"]
        for text in bad {
            var meta = StoreMetadata()
            meta.preprocessing = text
            XCTAssertThrowsError(try meta.recordedPipeline(store: "tuned.safetensors"), String(text.prefix(60))) { error in
                XCTAssertEqual((error as? PreprocessingRecordError)?.store, "tuned.safetensors", "\(error)")
                XCTAssertLessThan("\(error)".count, 400)
            }
        }
        var meta = StoreMetadata()
        XCTAssertThrowsError(try meta.record(.torchvision(ClassificationPreset(resizeSize: 18000, cropSize: 18000)))) {
            XCTAssertTrue($0 is ImplausiblePreprocessing, "\($0)")
        }
        XCTAssertNil(meta.preprocessing)
    }

    func testAnUnreadableRecordIsAnErrorNamingTheStore() throws {
        for (text, reason) in [("{\"resize\": ", "not JSON"), ("{\"colour\": \"blue\"}", "neither an image pipeline")] {
            var meta = StoreMetadata()
            meta.preprocessing = text
            XCTAssertThrowsError(try meta.recordedPipeline(store: "tuned.safetensors")) { error in
                let e = error as? PreprocessingRecordError
                XCTAssertEqual(e?.store, "tuned.safetensors")
                XCTAssertTrue(String(describing: error).hasPrefix("tuned.safetensors: "), "\(error)")
                XCTAssertTrue(e?.reason.contains(reason) ?? false, "\(error)")
            }
            // The choice does not fall back to another preset behind the user's back…
            XCTAssertThrowsError(try PreprocessingChoice.resolve(weights: nil, arch: "resnet50", store: store(meta))) {
                XCTAssertEqual(($0 as? PreprocessingRecordError)?.store, "the store in memory")
            }
            // …but named weights do not need the record.
            XCTAssertEqual(try PreprocessingChoice.resolve(weights: "IMAGENET1K_V2", arch: "resnet50", store: store(meta)).weights,
                           "ResNet50_Weights.IMAGENET1K_V2")
        }
    }

    func testNamedWeightsThenTheRecordThenRecordedWeightsThenDefaults() throws {
        var meta = StoreMetadata()
        try meta.record(.torchvision(preset))
        meta.classes = ["a", "b"]
        meta.weights = "ResNet50_Weights.IMAGENET1K_V1"
        let named = try PreprocessingChoice.resolve(weights: "ResNet50_Weights.IMAGENET1K_V2", arch: "resnet", store: store(meta))
        XCTAssertEqual(named.pipeline, .torchvision(try WeightsRegistry.lookup("ResNet50_Weights.IMAGENET1K_V2").preset))
        XCTAssertEqual(named.classes?.count, 1000)

        let recorded = try PreprocessingChoice.resolve(weights: nil, arch: "resnet", store: store(meta))
        XCTAssertEqual(recorded.pipeline, .torchvision(preset))
        XCTAssertEqual(recorded.classes, ["a", "b"])
        XCTAssertNil(recorded.weights)

        // Recorded weights choose the preset, also for a family architecture.
        meta.preprocessing = nil
        let byWeights = try PreprocessingChoice.resolve(weights: nil, arch: "resnet", store: store(meta))
        XCTAssertEqual(byWeights.source, "ResNet50_Weights.IMAGENET1K_V1")
        XCTAssertEqual(byWeights.weights, "ResNet50_Weights.IMAGENET1K_V1")
        XCTAssertEqual(byWeights.classes, ["a", "b"])

        XCTAssertEqual(try PreprocessingChoice.resolve(weights: nil, arch: "ResNet50").pipeline, .keras(size: 224, mode: .caffe))
        let fallback = try PreprocessingChoice.resolve(weights: nil, arch: "efficientnet_b0")
        XCTAssertEqual(fallback.source, "EfficientNet_B0_Weights.IMAGENET1K_V1 (DEFAULT)")
        XCTAssertNil(fallback.weights)
        XCTAssertEqual(try PreprocessingChoice.resolve(weights: nil, arch: nil).pipeline, .torchvision(.imagenetV1))
        XCTAssertThrowsError(try PreprocessingChoice.resolve(weights: "IMAGENET1K_V9", arch: "resnet50"))
    }
}
