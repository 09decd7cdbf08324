import Foundation
import GraftCore
import GraftImage
import GraftModels
import GraftStore
import GraftTestSupport
import GraftTrain
import XCTest

/// Checkpoints and resume in the library: a run stopped after any epoch and resumed from its
/// checkpoint ends with exactly the weights of an uninterrupted run (SGD and AdamW, images with
/// augmentation and dropout, cached features, unfreezing during the run); another run's checkpoint
/// is refused. (The CLI test kills real processes; this one checks the state that is carried.)
final class ResumeTests: XCTestCase {
    let preset = ClassificationPreset(resizeSize: 40, cropSize: 32, interpolation: .bilinear,
                                      mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    var dir: URL!

    override func setUp() { dir = TestPaths.temporaryDirectory("resume") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func tuner(_ configure: (inout FineTuneSettings) -> Void) throws -> FineTuner {
        let model = try ModelLoader.load(arch: "resnet", store: WeightStore.open(TestPaths.fixture("demo/backbone.pth"))).model
        let data = try ImageFolder.load(TestPaths.fixture("demo/images"))
        try HeadReplacement.replace(model, classes: data.classes, seed: 3)
        var s = FineTuneSettings()
        s.epochs = 3
        s.batchSize = 16
        s.seed = 3
        configure(&s)
        let t = try FineTuner(model: model, data: data, pipeline: .torchvision(preset), settings: s)
        t.loader.onBadImage = { _, _ in }
        return t
    }

    func weights(_ t: FineTuner) -> [String: [UInt8]] {
        Dictionary(uniqueKeysWithValues: t.model.stateDict().map { ($0.name, $0.tensor.data.withUnsafeBytes { Array($0) }) })
    }

    /// Uninterrupted, then stopped after each epoch k, written, read back into a fresh model and continued.
    func assertResumesExactly(_ name: String, _ configure: (inout FineTuneSettings) -> Void) throws {
        let reference = try tuner(configure)
        try reference.run()
        let expected = weights(reference)
        for k in 1..<3 {
            let first = try tuner(configure)
            var stopAfter = k
            first.shouldStop = { stopAfter -= 1; return stopAfter == 0 }
            first.checkpointPath = dir.appendingPathComponent("\(name)-\(k).checkpoint.safetensors").path
            try first.run()
            XCTAssertTrue(first.stoppedEarly)
            XCTAssertEqual(first.epochsDone, k)
            let second = try tuner(configure)
            try second.resume(from: TrainingCheckpoint.read(try XCTUnwrap(first.checkpointPath)))
            XCTAssertEqual(second.epochsDone, k)
            try second.run()
            XCTAssertEqual(second.history.map(\.trainLoss), reference.history.map(\.trainLoss), "\(name) after \(k)")
            XCTAssertEqual(second.lastValidation, reference.lastValidation, "\(name) after \(k)")
            XCTAssertTrue(weights(second) == expected, "\(name) resumed after epoch \(k) is not bit-identical")
            XCTAssertEqual(second.earlyStopping, reference.earlyStopping, "\(name) after \(k): early stopping state")
            XCTAssertTrue(second.ema?.averages == reference.ema?.averages, "\(name) after \(k): EMA averages")
            let final = { (t: FineTuner) in try t.finalStateDict().map { $0.tensor.data.withUnsafeBytes { Array($0) } } }
            XCTAssertTrue(try final(second) == final(reference), "\(name) resumed after epoch \(k): another saved store")
        }
    }

    func testSGDWithAugmentationDropoutAndUnfreezingResumesBitIdentically() throws {
        try assertResumesExactly("sgd") { s in
            s.headDropout = 0.4
            s.freeze = .until("layer4")
            s.unfreezeAt = [(2, "layer3")]
            s.nesterov = true
        }
    }

    func testAdamWOnCachedFeaturesResumesBitIdentically() throws {
        try assertResumesExactly("adamw") { s in
            s.optimizer = .adamw
            s.augment = false
            s.schedule = .cosine(warmupSteps: 2, minFactor: 0)
        }
    }

    func testEMAAndEarlyStoppingResumeBitIdentically() throws {
        try assertResumesExactly("ema") { s in
            s.augment = false
            s.ema = 0.9
            s.earlyStopPatience = 2
            s.learningRate = .single(0.5)
        }
    }

    func testMixUpCutMixAndBalancedSamplingResumeBitIdentically() throws {
        try assertResumesExactly("mix") { s in
            s.mixup = MixUpSettings(mixupAlpha: 0.8, cutmixAlpha: 1.0)
            s.balance = .sampler
            s.labelSmoothing = 0.1
        }
    }

    func testAnotherRunsCheckpointIsRefused() throws {
        let first = try tuner { $0.epochs = 1 }
        let path = dir.appendingPathComponent("one.checkpoint.safetensors").path
        first.checkpointPath = path
        try first.run()
        let saved = try TrainingCheckpoint.read(path)
        let other = try tuner { $0.epochs = 1; $0.seed = 4 }
        XCTAssertThrowsError(try other.resume(from: saved)) { error in
            XCTAssertTrue(String(describing: error).contains("belongs to another run"), String(describing: error))
        }
        // A checkpoint whose tensors do not fit the model is refused before anything changes.
        var broken = saved
        broken.model.removeLast()
        let same = try tuner { $0.epochs = 1 }
        XCTAssertThrowsError(try same.resume(from: broken))
        XCTAssertEqual(same.epochsDone, 0)
        // A store that is not a checkpoint.
        XCTAssertThrowsError(try TrainingCheckpoint.read(TestPaths.fixture("safetensors/graft_written.safetensors"))) { error in
            XCTAssertTrue(String(describing: error).contains("not a Graft training checkpoint"), String(describing: error))
        }
    }

    func testCheckpointPathSitsBesideTheOutput() {
        XCTAssertEqual(TrainingCheckpoint.path(for: "out/tuned.safetensors"), "out/tuned.checkpoint.safetensors")
        XCTAssertEqual(TrainingCheckpoint.path(for: "tuned"), "tuned.checkpoint.safetensors")
    }
}
