import Foundation
import GraftModels
import GraftModelsTestSupport
import GraftModelsXNN
import GraftNN
import GraftTensor
import GraftTestSupport
import XCTest

/// XNNPACK runs every zoo miniature whose modules it has nodes for and gives Graft's own outputs
/// (themselves checked against torch's and Keras' in the zoo tests) within 1e-4, at batch 1 and 3;
/// the other families are a typed error naming the module, never a wrong answer.
final class XNNInferenceTests: XCTestCase {
    /// Families that need concatenation, which the XNNPACK lowering does not have (SqueezeNet, GoogLeNet,
    /// Inception, DenseNet, ShuffleNet).
    static let unsupported: Set<String> = [
        "zoo/classic/squeezenet1_0_mini.pth", "zoo/classic/squeezenet1_1_mini.pth", "zoo/classic/googlenet_mini.pth",
        "zoo/classic/inception_v3_mini.pth", "zoo/dense/densenet_mini.pth",
        "zoo/dense/shufflenet_v2_mini.pth",
    ]

    func testXNNPACKMatchesGraftForEveryFamilyItCovers() throws {
        var report: [String] = []
        for entry in ZooMiniatures.all where !Self.unsupported.contains(entry.checkpoint) {
            let model = try ZooMiniatures.model(entry)
            let engine = try XNNInference(model: model, threads: 2)
            for batch in [1, 3] {
                let x = try ZooMiniatures.input(batch: batch, entry)
                let want = try model.outputs(x)
                let got = try engine.outputs(x)
                XCTAssertEqual(got.shape, want.shape, entry.name)
                let worst = zip(got.values, want.values).map { abs($0 - $1) }.max() ?? .infinity
                report.append("\(entry.name) batch \(batch): max |XNNPACK − Graft| \(worst)")
                XCTAssertLessThanOrEqual(worst, 1e-4, "\(entry.name) batch \(batch)")
                XCTAssertFalse(want.values.allSatisfy { $0 == 0 }, "\(entry.name): a trivial output proves nothing")
            }
        }
        print(report.joined(separator: "\n"))
        XCTAssertEqual(report.count, 2 * (ZooMiniatures.all.count - Self.unsupported.count))
    }

    /// A features plan stops at the classifier's input: the pooled rows feature caching trains a head on.
    func testXNNPACKFeaturesMatchGraftsForEveryFamilyItCovers() throws {
        var checked = 0
        for entry in ZooMiniatures.all where !Self.unsupported.contains(entry.checkpoint) {
            let model = try ZooMiniatures.model(entry)
            let x = try ZooMiniatures.input(batch: 2, entry)
            let want = try model.features(x)
            let got = try XNNInference(model: model, threads: 2, output: .features).features(x)
            XCTAssertEqual(got.shape, [2, model.featureCount], entry.name)
            let worst = zip(got.values, want.values).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(worst, 1e-4, "\(entry.name): max |XNNPACK − Graft| \(worst)")
            XCTAssertThrowsError(try XNNInference(model: model, output: .features).logits(x), entry.name)
            checked += 1
        }
        XCTAssertEqual(checked, ZooMiniatures.all.count - Self.unsupported.count)
    }

    /// Untimed, `auto` is a rule: XNNPACK where it covers the network, Graft's kernels for the families
    /// measured faster there and for those XNNPACK cannot run.
    func testUntimedAutoFollowsCoverageAndTheMeasuredTable() throws {
        for (checkpoint, engine) in [("torch/resnet18_mini.pth", "xnnpack"), ("torch/vgg11_mini.pth", "graft"),
                                     ("zoo/convnext/mini.pth", "graft"), ("zoo/dense/densenet_mini.pth", "graft")] {
            let entry = ZooMiniatures.all.first { $0.checkpoint == checkpoint }!
            let model = try ZooMiniatures.model(entry)
            let runner = try InferenceRunner(model: model, engine: .auto, timed: false)
            let x = try ZooMiniatures.input(batch: 1, entry)
            XCTAssertEqual(try runner.logits(x).values, engine == "graft" ? try model.logits(x).values : try XNNInference(model: model).logits(x).values)
            XCTAssertEqual(runner.engineName, engine, "\(checkpoint): \(runner.choiceReason)")
        }
    }

    func testFamiliesWithoutXNNPACKNodesAreATypedError() throws {
        for entry in ZooMiniatures.all where Self.unsupported.contains(entry.checkpoint) {
            let model = try ZooMiniatures.model(entry)
            XCTAssertThrowsError(try XNNInference.check(model, height: entry.height, width: entry.width), entry.name) { error in
                guard case XNNLoweringError.unsupportedModule(let what)? = error as? XNNLoweringError else {
                    return XCTFail("\(entry.name): \(error)")
                }
                XCTAssertFalse(what.isEmpty)
            }
        }
    }

    func testANewInputShapeReplansAndWeightsAreASnapshot() throws {
        let entry = ZooMiniatures.all.first { $0.checkpoint == "torch/resnet18_mini.pth" }!
        let model = try ZooMiniatures.model(entry)
        let engine = try XNNInference(model: model, threads: 1)
        let small = try ZooMiniatures.input(batch: 2, ZooMiniatures.Entry(checkpoint: entry.checkpoint, arch: entry.arch, height: 40, width: 56))
        let big = try ZooMiniatures.input(batch: 1, entry)
        for x in [small, big, small] {
            let worst = zip(try engine.logits(x).values, try model.logits(x).values).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-4, "\(x.shape)")
        }
        // The plan copied the weights: changing the model does not change the engine's answer.
        let before = try engine.logits(big)
        let fc = model.classifierParameters.weight
        fc.value = try Tensor(shape: fc.shape, repeating: 0)
        XCTAssertEqual(try engine.logits(big).values, before.values)
        XCTAssertNotEqual(try XNNInference(model: model).logits(big).values, before.values)
    }

    func testAMalformedInputIsAnError() throws {
        let entry = ZooMiniatures.all.first { $0.checkpoint == "torch/resnet18_mini.pth" }!
        let engine = try XNNInference(model: try ZooMiniatures.model(entry))
        XCTAssertThrowsError(try engine.logits(try Tensor(shape: [1, 3, 64])))
        XCTAssertThrowsError(try engine.logits(try Tensor(shape: [0, 3, 64, 64])))
        XCTAssertThrowsError(try engine.logits(try Tensor(shape: [1, 5, 64, 64])))
        // Too small for VGG's pools: an error, as on Graft's kernels, never a negative size handed on.
        let vgg = try ZooMiniatures.model(ZooMiniatures.all.first { $0.checkpoint == "torch/vgg11_mini.pth" }!)
        let tiny = try Tensor(shape: [1, 3, 1, 1], repeating: 0.5)
        XCTAssertThrowsError(try vgg.logits(tiny))
        XCTAssertThrowsError(try XNNInference(model: vgg).logits(tiny)) { XCTAssertTrue($0 is XNNLoweringError, "\($0)") }
    }

    /// A plan or runner made for the features refuses to give the logits, and the other way round.
    func testOutputKindIsChecked() throws {
        let entry = ZooMiniatures.all.first { $0.checkpoint == "torch/resnet18_mini.pth" }!
        let model = try ZooMiniatures.model(entry)
        let x = try ZooMiniatures.input(batch: 1, entry)
        XCTAssertThrowsError(try XNNInference(model: model, output: .features).logits(x))
        XCTAssertThrowsError(try XNNInference(model: model, output: .logits).features(x))
        for engine in InferenceEngineChoice.allCases {
            XCTAssertThrowsError(try InferenceRunner(model: model, engine: engine, output: .features).logits(x))
            XCTAssertThrowsError(try InferenceRunner(model: model, engine: engine, output: .logits).features(x))
            XCTAssertEqual(try InferenceRunner(model: model, engine: engine, output: .features).features(x).shape[0], 1)
        }
    }

    /// XNNPACK's clamps and max pools would turn NaN into numbers: NaN weights are refused (auto then
    /// stays on Graft), a NaN pixel runs on Graft's kernels and propagates as in torch.
    func testNaNPropagatesAsInTorch() throws {
        let entry = ZooMiniatures.all.first { $0.checkpoint == "torch/resnet18_mini.pth" }!
        let model = try ZooMiniatures.model(entry)
        var x = try ZooMiniatures.input(batch: 2, entry)
        x.withUnsafeMutableBufferPointer { $0[5] = .nan }
        for engine in [InferenceEngineChoice.xnnpack, .auto] {
            let runner = try InferenceRunner(model: model, engine: engine)
            let y = try runner.logits(x)
            XCTAssertTrue(y.values[0..<10].allSatisfy(\.isNaN), "\(engine): \(y.values)")
            XCTAssertTrue(y.values[10..<20].allSatisfy(\.isFinite), "\(engine)")
            if engine == .auto {
                // The NaN batch did not make the choice; the next finite one does.
                XCTAssertEqual(runner.choiceReason, "not yet chosen")
                _ = try runner.logits(try ZooMiniatures.input(batch: 2, entry))
                XCTAssertNotEqual(runner.choiceReason, "not yet chosen")
            }
        }
        let conv = try XCTUnwrap(model.network.module(at: "conv1") as? Conv2d)
        var w = conv.weight.value
        w.withUnsafeMutableBufferPointer { $0[0] = .infinity }
        conv.weight.value = w
        XCTAssertThrowsError(try XNNInference(model: model).logits(try ZooMiniatures.input(batch: 1, entry))) {
            XCTAssertEqual($0 as? XNNLoweringError, .nonFiniteWeights)
        }
        let auto = try InferenceRunner(model: model, engine: .auto)
        _ = try auto.logits(try ZooMiniatures.input(batch: 1, entry))
        XCTAssertEqual(auto.engineName, "graft", auto.choiceReason)
    }
}
