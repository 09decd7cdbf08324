import Foundation
import GraftImage
import GraftModels
import GraftNN
import GraftStore
import GraftTensor
import GraftTestSupport
import GraftTrain
import XCTest

/// EMA and early stopping: against timm's ModelEmaV3 and fastai's EarlyStoppingCallback, and in a run.
final class RecipeControlsTests: XCTestCase {
    struct EMAFixture: Decodable {
        struct Step: Decodable { let step: Int; let decay: Double; let model: [String: [Float]]; let ema: [String: [Float]] }
        let decay: Double
        let initial: [String: [Float]]
        let steps: [Step]
    }

    /// Fixtures/train/ema.json (tools/make_ema_fixtures.py, timm 1.0.31): the same states give timm's
    /// decays and averages bit for bit (both of torch's lerp branches: weights above and below 0.5).
    func testEMAEqualsTimmsModelEmaV3WithWarmup() throws {
        let f = try JSONDecoder().decode(EMAFixture.self, from: Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("train/ema.json"))))
        let names = f.initial.keys.filter { !$0.hasSuffix("num_batches_tracked") }.sorted()
        let params = try names.map { name in
            (name: name, parameter: Parameter(kind: .weight, value: try Tensor(shape: [f.initial[name]!.count], values: f.initial[name]!)))
        }
        let ema = ModelEMA(params, decay: f.decay)
        for s in f.steps {
            XCTAssertEqual(ModelEMA.decay(step: s.step, maximum: f.decay), s.decay, "decay at step \(s.step)")
            for (name, p) in params { p.value = try Tensor(shape: [s.model[name]!.count], values: s.model[name]!) }
            ema.update(step: s.step)
            for (i, name) in names.enumerated() {
                XCTAssertEqual(ema.averages[i], s.ema[name], "\(name) after step \(s.step)")
            }
        }
        // Swapping exchanges the averages and the live values, and back.
        let live = params.map { $0.parameter.value.values }
        try ema.swap()
        XCTAssertEqual(params.map { $0.parameter.value.values }, f.steps.last.map { s in names.map { s.ema[$0]! } })
        try ema.swap()
        XCTAssertEqual(params.map { $0.parameter.value.values }, live)
    }

    /// fastai: improvement is a strictly lower loss (NaN never); stop once `patience` epochs pass without one.
    func testEarlyStoppingFollowsFastaisTracker() {
        var es = EarlyStopping(patience: 2)
        let losses: [Double] = [1.0, 0.8, 0.8, .nan, 0.7, 0.75, 0.9]
        var stoppedAt: Int?
        for (i, loss) in losses.enumerated() where stoppedAt == nil {
            _ = es.observe(epoch: i + 1, validationLoss: loss)
            if es.shouldStop { stoppedAt = i + 1 }
        }
        // Epoch 3 ties (no improvement), 4 is NaN: two epochs without improvement after epoch 2.
        XCTAssertEqual(stoppedAt, 4)
        XCTAssertEqual(es.bestEpoch, 2)
        XCTAssertEqual(es.bestLoss, 0.8)
    }

    /// In a run: the store holds the EMA weights (not the live ones), and with early stopping the best
    /// epoch's weights and validation.
    func testARunSavesTheEMAWeightsAndTheBestEpoch() throws {
        let preset = ClassificationPreset(resizeSize: 40, cropSize: 32, interpolation: .bilinear,
                                          mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        func tuner(_ configure: (inout FineTuneSettings) -> Void) throws -> FineTuner {
            let model = try ModelLoader.load(arch: "resnet", store: WeightStore.open(TestPaths.fixture("demo/backbone.pth"))).model
            let data = try ImageFolder.load(TestPaths.fixture("demo/images"))
            try HeadReplacement.replace(model, classes: data.classes, seed: 1)
            var s = FineTuneSettings()
            s.epochs = 4
            s.seed = 1
            s.augment = false
            configure(&s)
            let t = try FineTuner(model: model, data: data, pipeline: .torchvision(preset), settings: s)
            t.loader.onBadImage = { _, _ in }
            return t
        }
        let t = try tuner { $0.ema = 0.9; $0.learningRate = .single(0.05) }
        try t.run()
        let saved = Dictionary(uniqueKeysWithValues: try t.finalStateDict().map { ($0.name, $0.tensor.floatValues()) })
        let live = Dictionary(uniqueKeysWithValues: t.model.stateDict().map { ($0.name, $0.tensor.floatValues()) })
        XCTAssertNotEqual(saved["fc.weight"], live["fc.weight"], "the saved head is the average, not the last step")
        let ema = try XCTUnwrap(t.ema)
        XCTAssertEqual(saved["fc.weight"], ema.averages[ema.entries.firstIndex { $0.name == "fc.weight" }!])

        let e = try tuner { $0.earlyStopPatience = 1; $0.learningRate = .single(3); $0.epochs = 6 }
        try e.run()
        let es = try XCTUnwrap(e.earlyStopping)
        let best = try XCTUnwrap(es.bestEpoch)
        XCTAssertEqual(es.bestLoss, e.history[best - 1].valLoss)
        XCTAssertEqual(e.history.map(\.valLoss).min(), es.bestLoss)
        XCTAssertEqual(e.finalValidation?.loss, es.bestLoss)
        if es.shouldStop { XCTAssertEqual(e.history.count, best + 1, "stops one epoch after the best with patience 1") }
    }
}

/// `--balance`: the weighted loss against torch's cross_entropy(weight=) (Fixtures/train/losses.json from
/// tools/make_loss_fixtures.py), timm's soft-target loss, and the sampler's class frequencies.
final class ClassBalanceTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let kind: String
            let label_smoothing: Float
            let weight: [Float]?
            let soft_targets: [Float]?
            let loss: Float
            let grad: [Float]
        }
        let n: Int, k: Int
        let logits: [Float]
        let targets: [Int]
        let cases: [Case]
    }

    func testLossesEqualTorchAndTimm() throws {
        let f = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("train/losses.json"))))
        let logits = try Tensor(shape: [f.n, f.k], values: f.logits)
        // sklearn's balanced weights (the fixture's torch expression rounds one of them 1 ulp differently).
        for (a, b) in zip(ClassBalance.lossWeights(labels: f.targets, classes: f.k), try XCTUnwrap(f.cases[0].weight)) {
            XCTAssertEqual(a, b, accuracy: 1e-6)
        }
        for c in f.cases {
            let (loss, grad): (Float, Tensor)
            if let w = c.weight {
                (loss, grad) = try crossEntropy(logits: logits, targets: f.targets, labelSmoothing: c.label_smoothing, classWeights: w)
            } else {
                (loss, grad) = try softTargetCrossEntropy(logits: logits, targets: Tensor(shape: [f.n, f.k], values: try XCTUnwrap(c.soft_targets)))
            }
            XCTAssertEqual(loss, c.loss, accuracy: 2e-6, "\(c.kind) ε=\(c.label_smoothing)")
            for (a, b) in zip(grad.values, c.grad) { XCTAssertEqual(a, b, accuracy: 1e-6, "\(c.kind) ε=\(c.label_smoothing) grad") }
        }
    }

    func testTheSamplerDrawsClassesEvenly() {
        // 90 % of one class: the draw is ~even, reproducible per seed, and different per seed.
        let labels = Array(repeating: 0, count: 900) + Array(repeating: 1, count: 100)
        let draw = ClassBalance.weightedDraw(labels: labels, classes: 2, count: 20_000, seed: 3)
        let ones = draw.filter { labels[$0] == 1 }.count
        XCTAssertEqual(Double(ones) / 20_000, 0.5, accuracy: 0.02)
        XCTAssertEqual(draw, ClassBalance.weightedDraw(labels: labels, classes: 2, count: 20_000, seed: 3))
        XCTAssertNotEqual(draw, ClassBalance.weightedDraw(labels: labels, classes: 2, count: 20_000, seed: 4))
        // Within a class every sample is equally likely (each of the 100 minority samples ~100 times).
        var perSample = [Int](repeating: 0, count: 1000)
        for i in draw { perSample[i] += 1 }
        XCTAssertTrue(perSample[900...].allSatisfy { (50...160).contains($0) }, "\(perSample[900...].min()!)…\(perSample[900...].max()!)")
    }
}

/// `finetune --tta flip`: validation averages each image's probabilities with its mirror's, the same
/// numbers `predict --tta flip` gives (checked against PyTorch in TTACommandTests).
final class ValidationTTATests: XCTestCase {
    func testFlipValidationEqualsPerImageTTA() throws {
        let preset = ClassificationPreset(resizeSize: 40, cropSize: 32, interpolation: .bilinear,
                                          mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        let model = try ModelLoader.load(arch: "resnet", store: WeightStore.open(TestPaths.fixture("demo/backbone.pth"))).model
        let data = try ImageFolder.load(TestPaths.fixture("demo/images"))
        try HeadReplacement.replace(model, classes: data.classes, seed: 2)
        var s = FineTuneSettings()
        s.tta = .flip
        let tuner = try FineTuner(model: model, data: data, pipeline: .torchvision(preset), settings: s)
        tuner.loader.onBadImage = { _, _ in }
        let result = try tuner.validate(useCache: false)
        var loss = 0.0, hits = 0, count = 0
        for sample in data.validation {
            guard let image = try? ImageDecoder.decode(path: sample.path) else { continue }
            let views = try ImagePipeline.torchvision(preset).views(image, .flip)
            let batch = try Tensor(shape: [views.count] + views[0].shape, values: views.flatMap(\.values))
            let p = try meanOfRows(softmax(model.logits(batch)))
            loss -= log(Double(p[sample.label]))
            hits += p.indices.max { p[$0] < p[$1] } == sample.label ? 1 : 0
            count += 1
        }
        XCTAssertEqual(result.count, count)
        XCTAssertEqual(result.accuracy, Double(hits) / Double(count), accuracy: 1e-12)
        XCTAssertEqual(result.loss, loss / Double(count), accuracy: 1e-5)
        let plain = try FineTuner(model: model, data: data, pipeline: .torchvision(preset), settings: FineTuneSettings()).validate(useCache: false)
        XCTAssertNotEqual(plain.loss, result.loss, "the mirror views change the numbers")
    }
}
