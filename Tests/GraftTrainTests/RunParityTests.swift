import Foundation
import GraftCore
import GraftModels
import GraftNN
import GraftTensor
import GraftTrain
import XCTest

/// Twenty fine-tuning steps match PyTorch loss by loss and in the final weights: (a) SGD with momentum,
/// two learning-rate groups and a frozen stage; (b) AdamW with fastai's one-cycle and BatchNorm policy
/// `train` in the frozen part. Frozen weights and frozen BatchNorm statistics stay bit-identical.
final class RunParityTests: XCTestCase {
    func run(_ name: String, settings: FineTuneSettings) throws {
        let manifest = try TrainManifest.load()
        let spec = try XCTUnwrap(manifest.runs[name])
        let ref = try TrainFixtures.tensors(spec.file)
        let model = try TrainFixtures.model(spec.model, checkpoint: spec.checkpoint)
        try HeadReplacement.replace(model, classes: (0..<spec.classes).map { "c\($0)" }, seed: 0)
        for (key, p) in model.classifierModule.namedParameters() {
            p.value = try TrainFixtures.tensor(try XCTUnwrap(ref["init.\(model.classifierPath).\(key)"]))
        }
        try Freezing.apply(model, freeze: settings.freeze, unfrozen: [], bn: settings.bn)
        let before = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor.data.array) })
        let trainer = Trainer(model: model, settings: settings, totalSteps: spec.steps, stepsPerEpoch: spec.batches)

        var losses: [Float] = []
        for step in 0..<spec.steps {
            let b = step % spec.batches
            let x = try TrainFixtures.tensor(try XCTUnwrap(ref["batch\(b).input"]))
            losses.append(try trainer.trainStep(images: x, labels: TrainFixtures.labels(try XCTUnwrap(ref["batch\(b).labels"]))).loss)
        }
        TrainFixtures.assertClose(losses, spec.losses, atol: 1e-4, rtol: 0, "\(name): losses")
        print("\(name): max |Δloss| \(zip(losses, spec.losses).map { abs($0 - $1) }.max() ?? 0)")

        let skip = Set(spec.rounding_dominated ?? [])
        var frozenChecked = 0
        for (key, raw) in model.stateDict() {
            let want = try XCTUnwrap(ref["final.\(key)"], "\(name): no final \(key)")
            if skip.contains(key) { continue }
            TrainFixtures.assertClose(raw.floatValues(), want.floatValues(), atol: 2e-5, rtol: 1e-4, "\(name): \(key)")
            // Parameters that never train, and statistics that must not move, keep their exact bytes.
            let param = model.network.parameter(key)
            let frozenWeight = param.map { !$0.requiresGrad && $0.kind != .buffer } ?? false
            if frozenWeight, let old = before[key] {
                XCTAssertEqual(raw.data.array, old, "\(name): frozen \(key) changed")
                frozenChecked += 1
            }
        }
        XCTAssertGreaterThan(frozenChecked, 0, name)
    }

    func testSGDWithTwoGroupsAndAFrozenStage() throws {
        var s = FineTuneSettings()
        s.optimizer = .sgd
        s.momentum = 0.9
        s.weightDecay = 1e-4
        s.learningRate = .range(0.01, 0.1)
        s.groupBoundaries = ["fc"]
        s.schedule = .constant
        s.freeze = .until("layer2")
        s.bn = .frozen
        try run("run_sgd", settings: s)
    }

    func testAdamWOneCycleWithBatchNormTrainPolicy() throws {
        var s = FineTuneSettings()
        s.optimizer = .adamw
        s.weightDecay = 0.01
        s.learningRate = .single(1e-3)
        s.schedule = .fastaiOneCycle
        s.freeze = .until("features.4")
        s.bn = .train
        try run("run_adamw", settings: s)
    }

    /// With BatchNorm frozen, the frozen part's running statistics are bit-identical after training.
    func testFrozenBatchNormStatisticsAreUntouched() throws {
        let manifest = try TrainManifest.load()
        let spec = try XCTUnwrap(manifest.runs["run_sgd"])
        let ref = try TrainFixtures.tensors(spec.file)
        let model = try TrainFixtures.model(spec.model, checkpoint: spec.checkpoint)
        try HeadReplacement.replace(model, classes: ["a", "b", "c"], seed: 1)
        try Freezing.apply(model, freeze: .until("layer2"), unfrozen: [], bn: .frozen)
        let frozenBN = model.stateDict().filter { $0.name.hasPrefix("bn1.") || $0.name.hasPrefix("layer1.") }
        var s = FineTuneSettings()
        s.schedule = .constant
        s.learningRate = .single(0.1)
        let trainer = Trainer(model: model, settings: s, totalSteps: 5, stepsPerEpoch: 5)
        for b in 0..<5 {
            try trainer.trainStep(images: try TrainFixtures.tensor(try XCTUnwrap(ref["batch\(b).input"])),
                                  labels: TrainFixtures.labels(try XCTUnwrap(ref["batch\(b).labels"])))
        }
        let after = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor.data.array) })
        for (k, v) in frozenBN { XCTAssertEqual(after[k], v.data.array, k) }
        XCTAssertTrue(frozenBN.contains { $0.name.hasSuffix("running_mean") })
    }
}
