import Foundation
import GraftCore
import GraftModels
import GraftStore
import GraftTensor
import GraftTestSupport
import XCTest

/// Key layouts are recognized and mapped by their rule tables onto the same graphs.
final class NamingTests: XCTestCase {
    func testDetection() {
        XCTAssertEqual(NamingScheme.detect(["conv1.weight", "layer1.0.conv1.weight", "fc.weight"]), .torchvision)
        XCTAssertEqual(NamingScheme.detect(["conv_stem.weight", "blocks.0.0.conv_dw.weight"]), .timmEfficientNet)
        XCTAssertEqual(NamingScheme.detect(["_conv_stem.weight", "_blocks.0._depthwise_conv.weight"]), .efficientnetPytorch)
        XCTAssertEqual(NamingScheme.detect(["features.0.weight", "pre_logits.fc1.weight", "head.fc.weight"]), .timmVGG)
        XCTAssertEqual(NamingScheme.detect(["conv1_conv/kernel", "predictions/bias"]), .keras)
    }

    /// timm's VGG keeps `features.*` but stores the classifier as convolutions (`pre_logits.fc1` 7×7,
    /// `pre_logits.fc2` 1×1) and `head.fc`. The same weights in that layout give the same logits.
    func testTimmVGGLayoutLoadsOntoTheTorchvisionGraph() throws {
        let store = try WeightStore.open(TestPaths.fixture("torch/vgg11_mini.pth"))
        let timmNames = ["classifier.0": "pre_logits.fc1", "classifier.3": "pre_logits.fc2", "classifier.6": "head.fc"]
        let renamed = try store.entries.map { entry -> (name: String, tensor: RawTensor) in
            let raw = try entry.tensor.load()
            let module = String(entry.name.split(separator: ".").prefix(2).joined(separator: "."))
            guard let timm = timmNames[module] else { return (entry.name, raw) }
            let suffix = entry.name.split(separator: ".").last!
            var shape = raw.shape
            if suffix == "weight" && module == "classifier.0" { shape = [shape[0], shape[1] / 49, 7, 7] }
            if suffix == "weight" && module == "classifier.3" { shape = [shape[0], shape[1], 1, 1] }
            return ("\(timm).\(suffix)", try RawTensor(dtype: raw.dtype, shape: shape, data: raw.data))
        }
        let timmStore = WeightStore.inMemory(renamed, metadata: StoreMetadata())
        let loaded = try ModelLoader.load(arch: "vgg", store: timmStore)
        XCTAssertEqual(loaded.scheme, .timmVGG)
        let input = try NpyArray(contentsOfFile: TestPaths.fixture("models/input_2x3x32x32.npy"))
        let want = try NpyArray(contentsOfFile: TestPaths.fixture("models/vgg11_mini_logits.npy"))
        let got = try loaded.model.logits(try Tensor(shape: input.shape, values: input.values))
        XCTAssertLessThanOrEqual(zip(got.values, want.values).map { abs($0 - $1) }.max() ?? 1, 1e-4)
    }

    func testUnknownKeysInAForeignLayoutAreNamed() throws {
        let t = LazyTensor(try RawTensor(dtype: .float32, shape: [1], data: ByteBuffer([0, 0, 0, 0])))
        let store = WeightStore.inMemory([("conv_stem.weight", try t.load()), ("blocks.0.0.mystery.weight", try t.load())],
                                         metadata: StoreMetadata())
        XCTAssertThrowsError(try ModelLoader.load(arch: "efficientnet", store: store)) { error in
            XCTAssertTrue(String(describing: error).contains("blocks.0.0.mystery.weight"), "\(error)")
        }
    }
}
