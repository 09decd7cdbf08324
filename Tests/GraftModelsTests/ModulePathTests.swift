import Foundation
import GraftModels
import GraftNN
import GraftStore
import GraftTestSupport
import XCTest

/// A module path written in the checkpoint's own naming reaches the same module of Graft's tree,
/// through the rename tables the weights went through; an unknown path lists the valid ones.
final class ModulePathTests: XCTestCase {
    func loaded(_ name: String) throws -> LoadedModel {
        let entry = try XCTUnwrap(try ModelManifest.load().models[name])
        var options = LoadOptions()
        options.spec = entry.spec
        return try ModelLoader.load(arch: name, store: WeightStore.open(TestPaths.fixture("models/\(entry.checkpoint)")), options: options)
    }

    func testEfficientNetPytorchBlocksMapToTorchvisionModules() throws {
        let l = try loaded("effnet_pytorch_b0_mini")
        // _blocks.4 is stage 3's second block: torchvision's features.4.1 (the MBConv, not just its `block`).
        XCTAssertEqual(try l.modulePath(for: "_blocks.4"), "features.4.1")
        XCTAssertEqual(try l.modulePath(for: "_blocks.0._bn1"), "features.1.0.block.0.1")
        XCTAssertEqual(try l.modulePath(for: "_conv_head"), "features.8.0")
        XCTAssertEqual(try l.modulePath(for: "_fc"), "classifier.1")
        XCTAssertEqual(try l.modulePath(for: "features.3"), "features.3")
    }

    func testTimmStagesAndUnknownPaths() throws {
        let l = try loaded("timm_tf_efficientnet_lite0_mini")
        XCTAssertEqual(try l.modulePath(for: "blocks.5"), "features.6")
        XCTAssertEqual(try l.modulePath(for: "conv_stem"), "features.0.0")
        XCTAssertThrowsError(try l.modulePath(for: "_blocks.99")) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("no module '_blocks.99'") && text.contains("features.0"), text)
        }
    }
}
