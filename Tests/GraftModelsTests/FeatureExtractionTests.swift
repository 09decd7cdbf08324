import Foundation
import GraftCore
import GraftModels
import GraftNN
import GraftStore
import GraftTensor
import GraftTestSupport
import XCTest

/// Intermediate outputs equal torchvision's `create_feature_extractor` (Fixtures/features, made by
/// tools/make_feature_fixtures.py): a miniature stored in full for CI, and the full-size ResNet-50 /
/// EfficientNet-B0 of ../shared/fixtures checked at 4096 sampled positions plus whole-tensor sums.
final class FeatureExtractionTests: XCTestCase {
    struct Manifest: Decodable {
        struct Case: Decodable {
            let shared: Bool
            let checkpoint: String
            let input: String
            let nodes: [String: Node]
        }
        struct Node: Decodable {
            struct Stats: Decodable { let sum: Double; let max_abs: Double }
            let shape: [Int]
            let storage: String
            let file: String?
            let indices: String?
            let values: String?
            let stats: Stats
            let tolerance: Float
        }
        let cases: [String: Case]
    }

    func run(_ name: String, arch: String) throws {
        let manifest = try TestPaths.decodeFixture(Manifest.self, "features/manifest.json")
        let c = try XCTUnwrap(manifest.cases[name])
        let folder: String
        if c.shared {
            guard let shared = TestPaths.sharedFixtures else { throw XCTSkip("../shared/fixtures is absent") }
            folder = shared.path
        } else {
            folder = TestPaths.fixture("features")
        }
        let model = try ModelLoader.load(arch: arch, store: WeightStore.open("\(folder)/\(c.checkpoint)")).model
        let input = try NpyArray(contentsOfFile: "\(folder)/\(c.input)")
        let paths = c.nodes.keys.sorted()
        let outputs = try model.intermediates(try Tensor(shape: input.shape, values: input.values), at: paths)
        for path in paths {
            let node = c.nodes[path]!
            let got = try XCTUnwrap(outputs[path], "\(name): no output for \(path)")
            XCTAssertEqual(got.shape, node.shape, "\(name) \(path)")
            let (want, at): ([Float], [Int])
            if let file = node.file {
                want = try NpyArray(contentsOfFile: TestPaths.fixture("features/\(file)")).values
                at = Array(want.indices)
            } else {
                want = try NpyArray(contentsOfFile: TestPaths.fixture("features/\(node.values!)")).values
                at = try Self.int64Npy(TestPaths.fixture("features/\(node.indices!)")).map(Int.init)
            }
            let values = got.values
            // allclose(atol = rtol = the node's tolerance: 1e-4, more where float32 torch itself is
            // further than that from float64 — ResNet-50's layer3 reaches 165).
            var worst: Float = 0, maxDiff: Float = 0
            for (i, w) in zip(at, want) {
                let d = abs(values[i] - w)
                maxDiff = max(maxDiff, d)
                worst = max(worst, d / (node.tolerance + node.tolerance * abs(w)))
            }
            XCTAssertLessThanOrEqual(worst, 1, "\(name) \(path): max |Δ| \(maxDiff)")
            let sum = values.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, node.stats.sum, accuracy: 1e-5 * max(1, abs(node.stats.sum)), "\(name) \(path): sum")
            print("\(name) \(path) \(got.shape): max |Δ| \(maxDiff), tolerance share \(worst)")
        }
    }

    func testMiniatureResNetFeatures() throws { try run("resnet18_mini", arch: "resnet") }
    func testResNet50Layer3AndPool() throws { try run("resnet50", arch: "resnet50") }
    func testEfficientNetB0StageAndPool() throws { try run("efficientnet_b0", arch: "efficientnet_b0") }

    func testUnknownPathListsValidOnes() throws {
        let model = try ModelLoader.load(arch: "resnet", store: WeightStore.open(TestPaths.fixture("torch/resnet18_mini.pth"))).model
        let x = try Tensor(shape: [1, 3, 32, 32], repeating: 0.5)
        XCTAssertThrowsError(try model.intermediates(x, at: ["layer9"])) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("no module 'layer9'") && text.contains("layer1.0.conv1"), text)
        }
        // Observers are removed afterwards: the next forward takes the fused path and agrees.
        let a = try model.intermediates(x, at: ["layer4"])["layer4"]!
        let b = try model.network.intermediates(x, at: ["layer4"])["layer4"]!
        XCTAssertEqual(a.values, b.values)
        XCTAssertTrue(model.network.namedModules().allSatisfy { $0.module.outputObserver == nil })
    }

    /// The values of an int64 `.npy` (numpy's `<i8`), which `NpyArray` (float32) does not read.
    static func int64Npy(_ path: String) throws -> [Int64] {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let start = 10 + headerLength
        let header = String(decoding: bytes[10..<start], as: UTF8.self)
        guard header.contains("<i8") else { throw NpyError.unsupportedDType(header) }
        return stride(from: start, to: bytes.count, by: 8).map { o in
            bytes[o..<(o + 8)].reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
    }
}
