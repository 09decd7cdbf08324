import Foundation
import GraftCore
import GraftModels
import GraftNN
import GraftSafetensors
import GraftStore
import GraftTensor
import GraftTestSupport
import XCTest

/// `Fixtures/train/` (tools/make_train_fixtures.py): PyTorch's gradients and 20-step runs.
struct TrainManifest: Decodable {
    struct Gradient: Decodable {
        let file: String
        let model: String
        let checkpoint: String
        let label_smoothing: Double
        let zero_gradient: [String]
    }
    struct Run: Decodable {
        let file: String
        let model: String
        let checkpoint: String
        let head: String
        let classes: Int
        let steps: Int
        let batches: Int
        let losses: [Float]
        let rounding_dominated: [String]?
    }
    let gradients: [String: Gradient]
    let runs: [String: Run]

    static func load() throws -> TrainManifest {
        try TestPaths.decodeFixture(TrainManifest.self, "train/manifest.json")
    }
}

enum TrainFixtures {
    /// The family name that infers each miniature's sizes from its checkpoint.
    static let families = ["resnet18_mini": "resnet", "vgg11_bn_mini": "vgg", "efficientnet_b0_mini": "efficientnet",
                           "efficientnet_v2_s_mini": "efficientnet_v2"]

    static func model(_ name: String, checkpoint: String) throws -> Model {
        let store = try WeightStore.open(TestPaths.fixture("train/\(checkpoint)"))
        let model = try ModelLoader.load(arch: families[name] ?? name, store: store).model
        // The references run with dropout and stochastic depth at p = 0.
        for layer in model.modules {
            (layer as? Dropout)?.probability = 0
            (layer as? StochasticDepth)?.probability = 0
        }
        return model
    }

    static func tensors(_ file: String) throws -> [String: RawTensor] {
        let f = try SafetensorsFile(path: TestPaths.fixture("train/\(file)"))
        return try Dictionary(uniqueKeysWithValues: f.names.map { ($0, try f.tensor(named: $0)) })
    }

    static func tensor(_ raw: RawTensor) throws -> Tensor { try Tensor(shape: raw.shape, values: raw.floatValues()) }

    static func labels(_ raw: RawTensor) -> [Int] { raw.floatValues().map { Int($0) } }

    /// Per-tensor comparison: |a − b| ≤ atol + rtol · max|b| (float32 rounding scales with the tensor),
    /// i.e. `Verification` with the whole tensor's tolerance as its absolute one.
    static func assertClose(_ a: [Float], _ b: [Float], atol: Float, rtol: Float, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        guard a.count == b.count else { return }
        let scale = b.map(abs).max() ?? 0
        let v = try! Verification(output: a, shape: [a.count], reference: b, referenceShape: [b.count], atol: atol + rtol * scale, rtol: 0)
        XCTAssertLessThanOrEqual(v.maxAbsDiff, atol + rtol * scale, "\(what): max |Δ| \(v.maxAbsDiff), max |ref| \(scale)", file: file, line: line)
        XCTAssertTrue(v.withinTolerance, "\(what): \(v.summary)", file: file, line: line)
    }
}

extension Model {
    /// A parameter's state-dict key (its path in the module tree).
    func key(_ p: Parameter) -> String { namedParameters().first { $0.parameter === p }!.name }
    /// The parameter under a state-dict key.
    func param(_ key: String) -> Parameter { network.parameter(key)! }
}
