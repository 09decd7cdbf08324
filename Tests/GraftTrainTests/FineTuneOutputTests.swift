import Foundation
import GraftImage
import GraftModels
import GraftNN
import GraftStore
import GraftTensor
import GraftTestSupport
import GraftTrain
import XCTest

/// A fine-tuned model saved with everything needed to run it again, and the charts beside it.
final class FineTuneOutputTests: XCTestCase {
    let preset = ClassificationPreset(resizeSize: 56, cropSize: 48, interpolation: .bilinear,
                                      mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// Two quick epochs of the bundled demo on cached features.
    func tunedDemo() throws -> (tuner: FineTuner, source: WeightStore) {
        let source = try WeightStore.open(TestPaths.fixture("demo/backbone.pth"))
        let model = try ModelLoader.load(arch: "resnet", store: source).model
        let data = try ImageFolder.load(TestPaths.fixture("demo/images"))
        try HeadReplacement.replace(model, classes: data.classes, seed: 0)
        var s = FineTuneSettings()
        s.epochs = 2
        s.batchSize = 8
        s.augment = false
        s.schedule = .constant
        let tuner = try FineTuner(model: model, data: data, pipeline: .torchvision(preset), settings: s)
        try tuner.run()
        return (tuner, source)
    }

    /// A user's network with no spatial map to explain (flatten + linear) still gets its report, its
    /// highest-loss images shown without a Grad-CAM and saying why; the store is written.
    func testReportOfANetworkWithoutAFeatureMap() throws {
        let network = Sequential(named: ["flatten": Flatten(), "fc": Linear(3 * 48 * 48, 3)])
        let model = try Model(network: network, arch: "mlp", classifierPath: "fc")
        let data = try ImageFolder.load(TestPaths.fixture("demo/images"))
        var s = FineTuneSettings()
        s.epochs = 1
        s.batchSize = 16
        s.augment = false
        let tuner = try FineTuner(model: model, data: data, pipeline: .torchvision(preset), settings: s)
        try tuner.run()
        let source = try WeightStore.open(TestPaths.fixture("demo/backbone.pth"))
        let choice = PreprocessingChoice(pipeline: .torchvision(preset), source: "the demo preset", classes: nil, weights: nil)
        let output = try FineTuneOutput(tuner: tuner, arch: "mlp", preprocessing: choice, source: source)
        XCTAssertEqual(output.report.examples.count, FineTuneOutput.reportExamples)
        XCTAssertTrue(output.report.examples.allSatisfy { $0.gradCAMUnavailable != nil })
        XCTAssertTrue(output.report.html().contains("no Grad-CAM: "))
        let dir = TestPaths.temporaryDirectory("finetune-output-mlp")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try output.save(to: dir.appendingPathComponent("mlp.safetensors").path)
        for file in files.all { XCTAssertTrue(FileManager.default.fileExists(atPath: file), file) }
    }

    func testTheSavedStoreRunsOnItsOwnWithItsChartsBesideIt() throws {
        let (tuner, source) = try tunedDemo()
        let choice = PreprocessingChoice(pipeline: .torchvision(preset), source: "the demo preset", classes: nil,
                                         weights: "ResNet18_Weights.IMAGENET1K_V1")
        let dir = TestPaths.temporaryDirectory("finetune-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("new/folder/tuned.safetensors").path
        let files = try FineTuneOutput(tuner: tuner, arch: "resnet", preprocessing: choice, source: source).save(to: path)
        XCTAssertEqual(files.all.map { ($0 as NSString).lastPathComponent },
                       ["tuned.safetensors", "report.html", "training-curves.svg", "confusion-matrix.svg", "confusion-matrix.txt"])
        for file in files.all { XCTAssertTrue(FileManager.default.fileExists(atPath: file), file) }
        XCTAssertTrue(try String(contentsOfFile: try XCTUnwrap(files.confusionText), encoding: .utf8).hasPrefix("confusion matrix"))

        let saved = try WeightStore.open(path)
        let meta = saved.metadata
        XCTAssertEqual(meta.arch, "resnet")
        XCTAssertEqual(meta.classes, ["crescent", "frame", "grid"])
        XCTAssertEqual(meta.weights, "ResNet18_Weights.IMAGENET1K_V1")
        XCTAssertEqual(meta.sourceFile, "backbone.pth")
        XCTAssertTrue(meta.notes.contains("fine-tuned by Graft: \(tuner.settings.summary)"), "\(meta.notes)")
        XCTAssertEqual(try saved.recordedPipeline(), .torchvision(preset))

        // Predicting needs nothing but the store: its preprocessing, classes and the tuned weights.
        let choiceAgain = try PreprocessingChoice.resolve(weights: nil, arch: meta.arch, store: saved)
        XCTAssertEqual(choiceAgain.pipeline, .torchvision(preset))
        XCTAssertEqual(choiceAgain.classes, tuner.data.classes)
        let reloaded = try ModelLoader.load(arch: try XCTUnwrap(meta.arch), store: saved).model
        let x = try Tensor(shape: [2, 3, 48, 48], values: (0..<(2 * 3 * 48 * 48)).map { Float($0 % 17) / 17 - 0.5 })
        let got = try reloaded.logits(x), want = try tuner.model.logits(x)
        let v = try Verification(output: got.values, shape: got.shape, reference: want.values, referenceShape: want.shape,
                                 atol: 1e-6, rtol: 1e-6)
        XCTAssertTrue(v.withinTolerance, v.summary)
        // The bundled corrupt image was skipped and is listed.
        XCTAssertEqual(tuner.loader.badImages.map { ($0 as NSString).lastPathComponent }, ["grid_truncated.png"])
    }

    /// A store that cannot be written leaves no charts behind (and no temporary files).
    func testAFailedSaveLeavesNothing() throws {
        let (tuner, source) = try tunedDemo()
        let choice = PreprocessingChoice(pipeline: .torchvision(preset), source: "the demo preset", classes: nil)
        let dir = TestPaths.temporaryDirectory("finetune-output-fails")
        defer { try? FileManager.default.removeItem(at: dir) }
        // A folder where the store should go: the store's final rename fails.
        let path = dir.appendingPathComponent("tuned.safetensors").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let output = try FineTuneOutput(tuner: tuner, arch: "resnet", preprocessing: choice, source: source)
        XCTAssertNil(output.metadata.weights, "backbone.pth records no weights and none were named")
        XCTAssertThrowsError(try output.save(to: path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["tuned.safetensors"])
    }
}
