import Foundation
import GraftCore
import GraftModels
import GraftStore
import GraftTensor
import GraftTestSupport
import XCTest

/// The full-size torchvision ResNet-50 and EfficientNet-B0 of ../shared/fixtures give torch's logits
/// to 1e-4 on Graft's graphs (random weights with perturbed BatchNorm statistics, real-photo inputs).
final class FullSizeParityTests: XCTestCase {
    func check(_ arch: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let shared = TestPaths.sharedFixtures else { throw XCTSkip("../shared/fixtures is absent") }
        let store = try WeightStore.open(shared.appendingPathComponent("\(arch).pth").path)
        let model = try ModelLoader.load(arch: arch, store: store).model
        let input = try NpyArray(contentsOfFile: shared.appendingPathComponent("\(arch)_input.npy").path)
        let want = try NpyArray(contentsOfFile: shared.appendingPathComponent("\(arch)_logits.npy").path)
        let got = try model.logits(try Tensor(shape: input.shape, values: input.values))
        XCTAssertEqual(got.shape, want.shape, file: file, line: line)
        // numpy.allclose(got, want, atol=1e-4, rtol=1e-4): ResNet-50's logits reach ±134, where float32
        // itself resolves only ~1e-5.
        let v = try Verification(output: got.values, shape: got.shape, reference: want.values, referenceShape: want.shape,
                                 atol: 1e-4, rtol: 1e-4)
        print("\(arch): \(v.summary)")
        XCTAssertTrue(v.withinTolerance, "\(arch): \(v.summary)", file: file, line: line)
        // Top-1 agrees for every image.
        XCTAssertEqual(v.top1Matches, want.shape[0], "\(arch): \(v.summary)", file: file, line: line)
    }

    func testResNet50() throws { try check("resnet50") }
    func testEfficientNetB0() throws { try check("efficientnet_b0") }
}
