import Foundation
import GraftImage
import GraftModels
import GraftStore
import GraftTestSupport
import GraftTrain
import XCTest

/// The bundled transfer-learning set (Fixtures/demo): a small backbone pretrained on ten synthetic
/// classes learns three new ones with a frozen backbone (PyTorch reaches 95.8% with these settings).
final class DemoLearnsTests: XCTestCase {
    func testFrozenBackboneFineTuneLearnsAndSkipsTheBadImage() throws {
        let tuner = try demoTuner { _ in }
        XCTAssertEqual(tuner.data.classes, ["crescent", "frame", "grid"])
        var bad: [String] = []
        tuner.loader.onBadImage = { path, _ in bad.append(path) }
        try tuner.run()
        XCTAssertEqual(bad.map { ($0 as NSString).lastPathComponent }, ["grid_truncated.png"])
        let last = try XCTUnwrap(tuner.history.last)
        print("demo: val accuracy per epoch \(tuner.history.map(\.valAccuracy))")
        XCTAssertTrue(tuner.history.allSatisfy(\.cachedFeatures), "a frozen backbone without augmentation trains on cached features")
        XCTAssertGreaterThanOrEqual(last.valAccuracy, 0.8, "chance is 1/3")
        XCTAssertLessThan(last.trainLoss, tuner.history[0].trainLoss)
    }
}

/// The recipe controls on the same real data, each in its own run: every one still learns the three
/// classes (chance is 1/3), so none of them silently breaks training.
final class RecipeControlsLearnTests: XCTestCase {
    func run(_ name: String, _ configure: (inout FineTuneSettings) -> Void) throws -> FineTuner {
        let tuner = try demoTuner(configure)
        tuner.loader.onBadImage = { _, _ in }
        try tuner.run()
        print("\(name): val accuracy per epoch \(tuner.history.map(\.valAccuracy)), saved \(tuner.finalValidation?.accuracy ?? 0)")
        return tuner
    }

    func testEachControlStillLearns() throws {
        let cases: [(String, (inout FineTuneSettings) -> Void)] = [
            ("ema", { $0.ema = 0.9 }),
            ("early stop", { $0.earlyStopPatience = 3 }),
            ("balance loss", { $0.balance = .loss }),
            ("balance sampler", { $0.balance = .sampler }),
            ("tta flip", { $0.tta = .flip }),
            ("mixup + cutmix", { $0.mixup = MixUpSettings(mixupAlpha: 0.4, cutmixAlpha: 1.0); $0.epochs = 16 }),
            ("trivial augment", { $0.augment = true; $0.augmentation = try! AugmentRecipe(parsing: "trivial"); $0.epochs = 16 }),
        ]
        for (name, configure) in cases {
            let t = try run(name, configure)
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(t.finalValidation).accuracy, 0.6, "\(name): chance is 1/3")
        }
    }
}

/// The demo's frozen-backbone recipe (10 epochs, batch 8, constant lr 0.05, no decay, no augmentation,
/// 48-pixel crops), changed by `configure`.
func demoTuner(_ configure: (inout FineTuneSettings) -> Void) throws -> FineTuner {
    let model = try ModelLoader.load(arch: "resnet", store: WeightStore.open(TestPaths.fixture("demo/backbone.pth"))).model
    let data = try ImageFolder.load(TestPaths.fixture("demo/images"))
    try HeadReplacement.replace(model, classes: data.classes, seed: 0)
    var s = FineTuneSettings()
    s.epochs = 10
    s.batchSize = 8
    s.learningRate = .single(0.05)
    s.weightDecay = 0
    s.schedule = .constant
    s.augment = false
    configure(&s)
    let preset = ClassificationPreset(resizeSize: 56, cropSize: 48, interpolation: .bilinear,
                                      mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    return try FineTuner(model: model, data: data, pipeline: .torchvision(preset), settings: s)
}
