import GraftCore
import GraftModels
import GraftNN
import GraftStore
import GraftTensor
import GraftTestSupport
import XCTest

/// Decoded Fixtures/gradcam/reference.json (tools/make_gradcam_fixtures.py): Grad-CAM maps PyTorch
/// computes from autograd on the same weights and inputs.
struct GradCAMReference: Decodable {
    struct Record: Decodable {
        let model: String, photo: String, layer: String
        let requested_class: Int?
        let class_index: Int, logit: Float, probability: Float
        let shape: [Int], map: [Float]
    }
    let records: [Record]

    static func load() throws -> GradCAMReference { try TestPaths.decodeFixture(Self.self, "gradcam/reference.json") }
}

final class GradCAMTests: XCTestCase {
    /// The full-size ResNet-50 of ../shared/fixtures at its default layer (layer4), against PyTorch.
    func testResNet50MatchesPyTorch() throws {
        guard let shared = TestPaths.sharedFixtures else { throw XCTSkip("../shared/fixtures is absent") }
        let ref = try XCTUnwrap(try GradCAMReference.load().records.first { $0.model == "resnet50" })
        let model = try ModelLoader.load(arch: "resnet50", store: try WeightStore.open(shared.appendingPathComponent("resnet50.pth").path)).model
        let batch = try NpyArray(contentsOfFile: shared.appendingPathComponent("resnet50_input.npy").path)
        let one = Array(batch.values.prefix(3 * 224 * 224))
        let cam = try model.gradCAM(try Tensor(shape: [1, 3, 224, 224], values: one))
        XCTAssertEqual(cam.layer, ref.layer)
        XCTAssertEqual(cam.classIndex, ref.class_index)
        XCTAssertEqual([cam.height, cam.width], ref.shape)
        XCTAssertEqual(cam.logit, ref.logit, accuracy: 1e-3)
        let r = pearsonCorrelation(cam.map, ref.map)
        let worst = zip(cam.map, ref.map).map { abs($0 - $1) }.max()!
        print("resnet50 Grad-CAM: correlation \(r), max |Δ| \(worst)")
        XCTAssertGreaterThanOrEqual(r, 0.999)
        XCTAssertLessThan(worst, 1e-3)
    }

    /// Frozen parameters, an explicit class and layer, and gradients left untouched.
    func testFrozenModelExplicitClassAndLayerLeaveGradientsAlone() throws {
        let model = try ModelLoader.random(arch: "resnet18", seed: 3)
        for p in model.parameters { p.requiresGrad = false }
        let x = try Tensor(shape: [1, 3, 64, 64], values: (0..<(3 * 64 * 64)).map { Float($0 % 17) / 17 - 0.5 })
        var seen = 0
        let layer3 = try XCTUnwrap(model.network.module(at: "layer3"))
        layer3.outputObserver = { _ in seen += 1 }
        let cam = try model.gradCAM(x, classIndex: 7, layer: "layer3")
        XCTAssertEqual(seen, 1, "the caller's observer ran during Grad-CAM's forward")
        _ = try model.logits(x)
        XCTAssertEqual(seen, 2, "and is still in place afterwards")
        layer3.outputObserver = nil
        XCTAssertEqual(cam.classIndex, 7)
        XCTAssertEqual([cam.height, cam.width], [4, 4])
        XCTAssertEqual(cam.map.max() ?? 0, 1, accuracy: 1e-6)
        XCTAssertTrue(cam.map.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertTrue(model.parameters.allSatisfy { $0.grad == nil }, "Grad-CAM leaves no parameter gradients")
        // The same logits as plain inference afterwards: evaluation mode was restored.
        XCTAssertEqual(try model.logits(x).values, try model.logits(x).values)
    }

    /// A module that runs twice per forward (a block's shared ReLU) or is unknown is refused by name.
    func testRefusesAmbiguousAndUnknownLayers() throws {
        let model = try ModelLoader.random(arch: "resnet18")
        let x = try Tensor(shape: [1, 3, 64, 64])
        XCTAssertThrowsError(try model.gradCAM(x, layer: "layer4.1.relu")) { error in
            XCTAssertTrue("\(error)".contains("runs once per forward"), "\(error)")
        }
        XCTAssertThrowsError(try model.gradCAM(x, layer: "layer9")) { XCTAssertTrue("\($0)".contains("layer9"), "\($0)") }
        XCTAssertThrowsError(try model.gradCAM(x, classIndex: 1000))
    }

    /// Every family's default layer is reached by backward exactly once.
    func testDefaultLayerWorksForEveryFamily() throws {
        for arch in ["alexnet", "vgg11", "squeezenet1_1", "googlenet", "inception_v3", "densenet121", "mobilenet_v2",
                     "mobilenet_v3_small", "mnasnet0_5", "shufflenet_v2_x0_5", "regnet_y_400mf", "efficientnet_b0",
                     "convnext_tiny", "resnext50_32x4d"] {
            let model = try ModelLoader.random(arch: arch, seed: 1)
            let side = arch == "inception_v3" ? 299 : 224
            let x = try Tensor(shape: [1, 3, side, side], values: (0..<(3 * side * side)).map { Float($0 % 29) / 29 - 0.5 })
            let cam = try model.gradCAM(x)
            XCTAssertGreaterThan(cam.height * cam.width, 1, arch)
            XCTAssertEqual(cam.map.count, cam.height * cam.width, arch)
            XCTAssertTrue(cam.map.allSatisfy(\.isFinite), arch)
        }
    }
}
