import GraftNN
import GraftTensor
import GraftTestSupport
import XCTest
import GraftModels

/// `Module.summary`: parameter totals equal torchvision's published `num_params` for every builder
/// (up to 150 M parameters, to keep the test light), and output shapes are the framework's.
final class ModelSummaryTests: XCTestCase {
    func testParameterTotalsAreTorchvisionsForEveryBuilder() throws {
        var checked = 0
        for arch in Zoo.archNames {
            guard let weights = WeightsRegistry.defaultWeights(for: arch), weights.numParams > 0,
                  weights.numParams <= 150_000_000, var spec = Zoo.spec(named: arch) else { continue }
            // torchvision's GoogLeNet weights are published for the model without its auxiliary heads.
            if case .googlenet(var c) = spec { c.auxLogits = false; spec = .googlenet(c) }
            let count = Zoo.network(spec).namedParameters().filter { $0.parameter.kind != .buffer }
                .reduce(0) { $0 + $1.parameter.value.count }
            XCTAssertEqual(count, weights.numParams, arch)
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 60)
    }

    func testOutputShapesAndAuxiliaryHeads() throws {
        let resnet = try ModelLoader.random(arch: "resnet50")
        let r = try resnet.network.summary(try Tensor(shape: [2, 3, 224, 224]))
        let byPath = Dictionary(uniqueKeysWithValues: r.layers.map { ($0.path, $0) })
        XCTAssertEqual(byPath["layer3"]?.outputShape, [2, 1024, 14, 14])
        XCTAssertEqual(byPath["avgpool"]?.outputShape, [2, 2048, 1, 1])
        XCTAssertEqual(byPath[""]?.outputShape, [2, 1000])
        XCTAssertEqual(r.totalParameters, 25_557_032)
        XCTAssertEqual(byPath["layer4.2.conv3"]?.parameters, 512 * 2048)
        let googlenet = try ModelLoader.random(arch: "googlenet")
        try freezeAllButClassifier(googlenet)
        let g = try googlenet.network.summary(try Tensor(shape: [1, 3, 224, 224]))
        let gp = Dictionary(uniqueKeysWithValues: g.layers.map { ($0.path, $0) })
        XCTAssertEqual(gp["inception5b"]?.outputShape, [1, 1024, 7, 7])
        XCTAssertNil(gp["aux1"]?.outputShape, "auxiliary heads do not run at inference")
        XCTAssertEqual(g.trainableParameters, 1024 * 1000 + 1000)
    }

    /// Everything but the classifier frozen, as a fine-tune does.
    private func freezeAllButClassifier(_ model: Model) throws {
        for (name, p) in model.namedParameters() where !name.hasPrefix(model.classifierPath + ".") { p.requiresGrad = false }
    }
}
