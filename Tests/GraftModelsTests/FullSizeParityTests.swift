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
        let diffs = zip(got.values, want.values).map { abs($0 - $1) }
        let maxDiff = diffs.max() ?? .infinity
        let rel = zip(diffs, want.values).map { $0 / max(abs($1), 1e-3) }.max() ?? .infinity
        print("\(arch): max |Δlogit| \(maxDiff), max rel \(rel)")
        // numpy.allclose(got, want, atol=1e-4, rtol=1e-4): ResNet-50's logits reach ±134, where float32
        // itself resolves only ~1e-5.
        for (d, w) in zip(diffs, want.values) {
            if d > 1e-4 + 1e-4 * abs(w) { XCTFail("\(arch): |Δ| \(d) at logit \(w)", file: file, line: line); break }
        }
        // Top-1 agrees for every image.
        for i in 0..<want.shape[0] {
            let row = { (v: [Float]) in v[(i * 1000)..<((i + 1) * 1000)] }
            XCTAssertEqual(row(got.values).indices.max { row(got.values)[$0] < row(got.values)[$1] },
                           row(want.values).indices.max { row(want.values)[$0] < row(want.values)[$1] }, file: file, line: line)
        }
    }

    func testResNet50() throws { try check("resnet50") }
    func testEfficientNetB0() throws { try check("efficientnet_b0") }
}
