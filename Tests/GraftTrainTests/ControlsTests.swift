import Foundation
import GraftImage
import GraftModels
import GraftNN
import GraftStore
import GraftTensor
import GraftTestSupport
import GraftTrain
import XCTest

/// The transfer-learning controls one by one: learning-rate specs, schedules, layer groups, freezing,
/// BatchNorm policies, head replacement, data splits and metrics.
final class ControlsTests: XCTestCase {
    func resnetMini() throws -> Model {
        try ModelLoader.load(arch: "resnet", store: WeightStore.open(TestPaths.fixture("torch/resnet18_mini.pth"))).model
    }

    func testLearningRateSpecsFollowFastaiAndTimm() {
        XCTAssertEqual(LearningRateSpec(parsing: "1e-3"), .single(1e-3))
        XCTAssertEqual(LearningRateSpec(parsing: "1e-5:1e-3"), .range(1e-5, 1e-3))
        XCTAssertNil(LearningRateSpec(parsing: "1e-3:1e-5"))
        XCTAssertNil(LearningRateSpec(parsing: "-1"))
        // slice(hi): earlier groups hi/10, the head hi.
        XCTAssertEqual(LearningRateSpec.single(1e-3).rates(groups: 3), [1e-4, 1e-4, 1e-3])
        // slice(lo, hi): fastcore even_mults, geometric.
        let r = LearningRateSpec.range(1e-5, 1e-3).rates(groups: 3)
        XCTAssertEqual(r[0], 1e-5, accuracy: 1e-12)
        XCTAssertEqual(r[1], 1e-4, accuracy: 1e-12)
        XCTAssertEqual(r[2], 1e-3, accuracy: 1e-12)
        // timm layer decay: lr · decay^(depth from the head).
        let d = LearningRateSpec.single(1e-3).rates(groups: 4, layerDecay: 0.5)
        XCTAssertEqual(d, [1.25e-4, 2.5e-4, 5e-4, 1e-3])
    }

    func testOneCycleMatchesTheManifestSchedule() throws {
        struct M: Decodable { struct R: Decodable { let betas1: [Double]? }; let runs: [String: R] }
        let m = try JSONDecoder().decode(M.self, from: Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("train/manifest.json"))))
        let betas = try XCTUnwrap(m.runs["run_adamw"]?.betas1)
        for (t, beta) in betas.enumerated() {
            let v = Schedule.fastaiOneCycle.values(step: t, totalSteps: 20, stepsPerEpoch: 5)
            XCTAssertEqual(try XCTUnwrap(v.momentum), beta, accuracy: 1e-12, "step \(t)")
        }
        let start = Schedule.fastaiOneCycle.values(step: 0, totalSteps: 100, stepsPerEpoch: 10).lrFactor
        let peak = Schedule.fastaiOneCycle.values(step: 25, totalSteps: 100, stepsPerEpoch: 10).lrFactor
        XCTAssertEqual(start, 1.0 / 25, accuracy: 1e-12)
        XCTAssertEqual(peak, 1, accuracy: 1e-12)
        XCTAssertEqual(Schedule.step(everyEpochs: 2, gamma: 0.1).values(step: 45, totalSteps: 100, stepsPerEpoch: 10).lrFactor,
                       0.01, accuracy: 1e-12)
        let cos = Schedule.cosine(warmupSteps: 10, minFactor: 0)
        XCTAssertEqual(cos.values(step: 4, totalSteps: 110, stepsPerEpoch: 10).lrFactor, 0.5, accuracy: 1e-12)
        XCTAssertEqual(cos.values(step: 60, totalSteps: 110, stepsPerEpoch: 10).lrFactor, 0.5, accuracy: 1e-12)
        XCTAssertEqual(Schedule(parsing: "step:3:0.5"), .step(everyEpochs: 3, gamma: 0.5))
        XCTAssertNil(Schedule(parsing: "warp"))
    }

    func testLayerGroupsPerFamily() throws {
        let resnet = try resnetMini()
        let g = LayerGroups.standard(resnet)
        XCTAssertEqual(g.map(\.name), ["group0", "group1", "head"])
        XCTAssertTrue(g[0].parameters.allSatisfy { ["conv1.", "bn1.", "layer1.", "layer2."].contains(where: resnet.key($0).hasPrefix) })
        XCTAssertTrue(g[1].parameters.allSatisfy { resnet.key($0).hasPrefix("layer3.") || resnet.key($0).hasPrefix("layer4.") })
        XCTAssertEqual(g[2].parameters.map(resnet.key), ["fc.weight", "fc.bias"])
        let fine = LayerGroups.fine(resnet).map(\.name)
        XCTAssertEqual(fine, ["stem", "layer1.0", "layer1.1", "layer2.0", "layer3.0", "layer4.0", "head"])
        let custom = LayerGroups.custom(resnet, boundaries: ["layer4", "fc"]).map { $0.parameters.count }
        XCTAssertEqual(custom.count, 3)
        let eff = try ModelLoader.load(arch: "efficientnet", store: WeightStore.open(TestPaths.fixture("torch/efficientnet_b0_mini.pth"))).model
        let eg = LayerGroups.standard(eff)
        XCTAssertTrue(eg[0].parameters.allSatisfy { (eff.key($0).split(separator: ".").dropFirst().first.flatMap { Int($0) } ?? 99) < 5 })
        XCTAssertEqual(eg.last?.parameters.map(eff.key), ["classifier.1.weight", "classifier.1.bias"])
    }

    func testFreezingPoliciesAndProgressiveUnfreezing() throws {
        let model = try resnetMini()
        let norms = model.modules.compactMap { $0 as? BatchNorm2d }
        let convs = model.bodyModules.compactMap { $0 as? Conv2d }
        try Freezing.apply(model, freeze: .backbone, unfrozen: [], bn: .frozen)
        XCTAssertEqual(model.network.trainableParameters().map(\.name), ["fc.weight", "fc.bias"])
        XCTAssertTrue(norms.allSatisfy { $0.useBatchStatistics == false })
        XCTAssertTrue(Freezing.bodyIsFixed(model))

        try Freezing.apply(model, freeze: .backbone, unfrozen: [], bn: .trainAffine)
        XCTAssertTrue(norms.allSatisfy { $0.useBatchStatistics == true && $0.weight.requiresGrad == true })
        XCTAssertFalse(convs.contains { $0.weight.requiresGrad })
        XCTAssertFalse(Freezing.bodyIsFixed(model))

        try Freezing.apply(model, freeze: .backbone, unfrozen: [], bn: .train)
        XCTAssertTrue(norms.allSatisfy { $0.useBatchStatistics == true && $0.weight.requiresGrad == false })

        try Freezing.apply(model, freeze: .until("layer3"), unfrozen: [], bn: .frozen)
        XCTAssertFalse(model.param("layer2.0.conv1.weight").requiresGrad)
        XCTAssertTrue(model.param("layer3.0.conv1.weight").requiresGrad)
        XCTAssertTrue(model.param("layer3.0.bn1.weight").requiresGrad)

        // Unfreezing layer1 while the rest stays as the spec says.
        let thawed = model.parameters.filter { model.key($0).hasPrefix("layer1.") }
        try Freezing.apply(model, freeze: .until("layer3"), unfrozen: thawed, bn: .frozen)
        XCTAssertTrue(model.param("layer1.0.conv1.weight").requiresGrad)
        XCTAssertFalse(model.param("layer2.0.conv1.weight").requiresGrad)
        XCTAssertFalse(model.param("layer1.0.bn1.running_mean").requiresGrad)
        XCTAssertEqual(FreezeSpec(parsing: "until:layer3"), .until("layer3"))
        XCTAssertNil(FreezeSpec(parsing: "until:"))
    }

    func testUnfreezeAtChangesTrainableSetFromThatEpoch() throws {
        let model = try resnetMini()
        let data = try ImageFolder.load(TestPaths.fixture("demo/images"))
        try HeadReplacement.replace(model, classes: data.classes, seed: 3)
        var s = FineTuneSettings()
        s.epochs = 2
        s.batchSize = 16
        s.augment = false
        s.unfreezeAt = [(2, "layer4")]
        let preset = ClassificationPreset(resizeSize: 40, cropSize: 32, interpolation: .bilinear,
                                          mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        let tuner = try FineTuner(model: model, data: data, pipeline: .torchvision(preset), settings: s)
        let layer4 = model.param("layer4.0.conv1.weight")
        let before = layer4.value
        try tuner.runEpoch(1)
        XCTAssertTrue(tuner.history[0].cachedFeatures)
        XCTAssertEqual(layer4.value, before)
        try tuner.runEpoch(2)
        XCTAssertFalse(tuner.history[1].cachedFeatures, "an unfrozen body invalidates the feature cache")
        XCTAssertNotEqual(layer4.value, before)
        XCTAssertGreaterThan(tuner.history[1].trainableParameters, tuner.history[0].trainableParameters)
    }

    func testHeadReplacementKeepsMatchingClassRows() throws {
        let model = try resnetMini()
        let old = model.classifierParameters.weight.value.values
        let pretrained = (0..<10).map { "class \($0)" }
        let notes = try HeadReplacement.replace(model, classes: ["Class_3", "other", "CLASS 7"], seed: 1,
                                                keepMatchingClasses: true, pretrainedClasses: pretrained)
        XCTAssertEqual(notes.count, 2)
        let w = model.classifierParameters.weight.value.values
        XCTAssertEqual(model.classifierParameters.weight.value.shape, [3, 64])
        XCTAssertEqual(Array(w[0..<64]), Array(old[(3 * 64)..<(4 * 64)]))
        XCTAssertEqual(Array(w[128..<192]), Array(old[(7 * 64)..<(8 * 64)]))
        XCTAssertNotEqual(Array(w[64..<128]), Array(old[0..<64]))
        // The new head keeps the old module path, so the state dict loads into torchvision's model.
        XCTAssertEqual(model.stateDict().suffix(2).map(\.name), ["fc.weight", "fc.bias"])
        let bound = 1 / Float(64).squareRoot()
        XCTAssertTrue(Array(w[64..<128]).allSatisfy { abs($0) <= bound })
    }

    /// One default per optimizer, owned by the settings; an explicit value wins whatever the optimizer.
    func testWeightDecayDefaultFollowsTheOptimizer() {
        var s = FineTuneSettings()
        XCTAssertEqual(s.weightDecay, FineTuneSettings.OptimizerKind.sgd.defaultWeightDecay)
        s.optimizer = .adamw
        XCTAssertEqual(s.weightDecay, 0.01)
        s.weightDecay = 0
        s.optimizer = .sgd
        XCTAssertEqual(s.weightDecay, 0)
        XCTAssertTrue(s.summary.contains("sgd lr 0.001"), s.summary)
        XCTAssertTrue(s.summary.contains("weight decay 0.0, schedule one-cycle, freeze backbone, bn frozen"), s.summary)
        XCTAssertEqual(Schedule(parsing: Schedule.step(everyEpochs: 3, gamma: 0.5).description), .step(everyEpochs: 3, gamma: 0.5))
        XCTAssertEqual(LearningRateSpec(parsing: LearningRateSpec.range(1e-5, 1e-3).description), .range(1e-5, 1e-3))
    }

    func testValidationSplitIsStratifiedAndSeeded() throws {
        let root = TestPaths.fixture("demo/images/train")
        let a = try ImageFolder.load(root, valSplit: 0.25, seed: 7), b = try ImageFolder.load(root, valSplit: 0.25, seed: 7)
        XCTAssertEqual(a.validation, b.validation)
        XCTAssertEqual(a.train.count + a.validation.count, 61)
        for label in a.classes.indices { XCTAssertEqual(a.validation.filter { $0.label == label }.count, 5) }
        XCTAssertNotEqual(try ImageFolder.load(root, valSplit: 0.25, seed: 8).validation, a.validation)
        // Folders of non-images (zoo/classic, zoo/dense …) are no image folder.
        XCTAssertThrowsError(try ImageFolder.load(TestPaths.fixture("zoo")))
    }

    func testMetrics() throws {
        var m = MetricsAccumulator(classes: 3)
        let logits = try Tensor(shape: [3, 3], values: [3, 1, 0, 0, 1, 3, 1, 2, 0])
        m.add(logits: logits, targets: [0, 1, 1], meanLoss: 0.5)
        let r = m.result
        XCTAssertEqual(r.accuracy, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(r.top5, 1)
        XCTAssertEqual(r.confusion, [[1, 0, 0], [0, 1, 1], [0, 0, 0]])
        XCTAssertEqual(r.perClassAccuracy, [1, 0.5, 0])
        XCTAssertEqual(r.loss, 0.5, accuracy: 1e-12)
    }
}
