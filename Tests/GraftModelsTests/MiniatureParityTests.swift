import Foundation
import GraftCore
import GraftModels
import GraftStore
import GraftTensor
import GraftTestSupport
import XCTest

/// Every family's miniature — torchvision, timm and efficientnet_pytorch key layouts — gives the
/// reference framework's logits to 1e-4 on Graft's graphs.
final class MiniatureParityTests: XCTestCase {
    func logits(_ name: String, _ entry: ModelManifest.Model) throws -> (got: Tensor, want: NpyArray) {
        let store = try WeightStore.open(TestPaths.fixture("models/\(entry.checkpoint)"))
        var options = LoadOptions()
        options.spec = entry.spec
        let loaded = try ModelLoader.load(arch: name, store: store, options: options)
        let input = try NpyArray(contentsOfFile: TestPaths.fixture("models/\(entry.input)"))
        let want = try NpyArray(contentsOfFile: TestPaths.fixture("models/\(entry.logits)"))
        let out = try loaded.model.logits(try Tensor(shape: input.shape, values: input.values))
        XCTAssertEqual(out.shape, want.shape, name)
        return (out, want)
    }

    func testEveryMiniatureMatchesItsReference() throws {
        let manifest = try ModelManifest.load()
        var report: [String] = []
        for (name, entry) in manifest.models.sorted(by: { $0.key < $1.key }) {
            let (got, want) = try logits(name, entry)
            // An absolute tolerance: atol = the manifest's, rtol = 0.
            let v = try Verification(output: got.values, shape: got.shape, reference: want.values, referenceShape: want.shape,
                                     atol: Float(manifest.tolerance), rtol: 0)
            let maxDiff = v.maxAbsDiff
            report.append("\(name): max |Δlogit| \(maxDiff)")
            XCTAssertLessThanOrEqual(Double(maxDiff), manifest.tolerance, "\(name) (\(entry.naming))")
            XCTAssertTrue(v.withinTolerance, "\(name): \(v.summary)")
        }
        print(report.joined(separator: "\n"))
        XCTAssertGreaterThanOrEqual(manifest.models.count, 13)
    }

    /// The family names read the sizes from the checkpoint: a miniature runs with `--arch resnet`.
    func testFamiliesInferTheirSizes() throws {
        let manifest = try ModelManifest.load()
        for (name, family) in [("resnet18_mini", "resnet"), ("resnet50_mini", "resnet"), ("resnext_mini", "resnet"),
                               ("vgg11_bn_mini", "vgg"), ("vgg11_mini", "vgg"), ("efficientnet_b0_mini", "efficientnet"),
                               ("timm_efficientnet_b0_mini", "efficientnet")] {
            let entry = try XCTUnwrap(manifest.models[name])
            let store = try WeightStore.open(TestPaths.fixture("models/\(entry.checkpoint)"))
            let loaded = try ModelLoader.load(arch: family, store: store)
            if name.hasPrefix("timm") {
                // timm rounds its squeeze widths differently, which the inferred config cannot know;
                // the shapes still say everything else.
                guard case .efficientnet = loaded.spec else { return XCTFail(name) }
                continue
            }
            XCTAssertEqual(loaded.spec, entry.spec, name)
        }
    }
}
