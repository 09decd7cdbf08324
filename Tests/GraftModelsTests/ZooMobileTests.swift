import Crypto
import Foundation
import GraftCore
import GraftModels
import GraftNN
import GraftSafetensors
import GraftStore
import GraftTensor
import GraftTestSupport
import XCTest

/// `Fixtures/zoo/mobile/manifest.json` (tools/make_zoo_fixtures_mobile.py): MobileNetV2, MobileNetV3 and
/// MNASNet miniatures built from torchvision's classes, with torch's eval logits, one training step's
/// gradients and the state after three SGD steps, plus the state-dict structure of every full-size
/// torchvision builder of the three families.
struct ZooMobileManifest: Decodable {
    enum Config: Equatable {
        case mobilenetV2(MobileNetV2Config)
        case mobilenetV3(MobileNetV3Config)
        case mnasnet(MNASNetConfig)

        var network: FeatureHeadNetwork {
            switch self {
            case .mobilenetV2(let c): return MobileNetV2(c)
            case .mobilenetV3(let c): return MobileNetV3(c)
            case .mnasnet(let c): return MNASNet(c)
            }
        }
    }

    struct SGD: Decodable {
        let steps: Int
        let lr: Float
        let momentum: Float
    }

    struct Entry: Decodable {
        let checkpoint: String
        let config: Config
        let input: String
        let logits: String
        let train: String
        let labels: [Int]
        let sgd: SGD
        let losses: [Double]

        enum CodingKeys: String, CodingKey { case checkpoint, architecture, config, input, logits, train, labels, sgd, losses }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            checkpoint = try c.decode(String.self, forKey: .checkpoint)
            input = try c.decode(String.self, forKey: .input)
            logits = try c.decode(String.self, forKey: .logits)
            train = try c.decode(String.self, forKey: .train)
            labels = try c.decode([Int].self, forKey: .labels)
            sgd = try c.decode(SGD.self, forKey: .sgd)
            losses = try c.decode([Double].self, forKey: .losses)
            switch try c.decode(String.self, forKey: .architecture) {
            case "MobileNetV2": config = .mobilenetV2(try c.decode(MobileNetV2Config.self, forKey: .config))
            case "MobileNetV3": config = .mobilenetV3(try c.decode(MobileNetV3Config.self, forKey: .config))
            case "MNASNet": config = .mnasnet(try c.decode(MNASNetConfig.self, forKey: .config))
            case let other:
                throw DecodingError.dataCorruptedError(forKey: .architecture, in: c, debugDescription: "unknown \(other)")
            }
        }

        func path(_ file: String) -> String { TestPaths.fixture("zoo/mobile/\(file)") }

        /// The miniature with its checkpoint loaded strictly, wrapped as a `Model`.
        func model() throws -> Model {
            let network = config.network
            try network.loadCheckpoint(path(checkpoint))
            return try Model(network: network, arch: checkpoint)
        }

        func inputTensor() throws -> Tensor {
            let x = try NpyArray(contentsOfFile: path(input))
            return try Tensor(shape: x.shape, values: x.values)
        }

        func trainTensors() throws -> [String: [Float]] {
            let f = try SafetensorsFile(path: path(train))
            return try Dictionary(uniqueKeysWithValues: f.names.map { ($0, try f.tensor(named: $0).floatValues()) })
        }
    }

    struct Structure: Decodable {
        let entries: Int
        let elements: Int
        let sha256: String
    }

    let tolerance: Double
    let models: [String: Entry]
    let torchvision_archs: [String: Structure]

    static func load() throws -> ZooMobileManifest {
        try TestPaths.decodeFixture(ZooMobileManifest.self, "zoo/mobile/manifest.json")
    }
}

/// |a − b| ≤ atol + rtol·|b| elementwise, reporting the worst element.
func assertAllClose(_ a: [Float], _ b: [Float], atol: Double, rtol: Double, _ what: String,
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    var worst = 0.0, at = -1
    for (i, (x, y)) in zip(a, b).enumerated() {
        let excess = abs(Double(x) - Double(y)) - (atol + rtol * abs(Double(y)))
        if excess > worst || x.isNaN != y.isNaN { worst = x.isNaN != y.isNaN ? .infinity : excess; at = i }
    }
    if at >= 0 { XCTFail("\(what): element \(at) is \(a[at]), expected \(b[at])", file: file, line: line) }
}

final class ZooMobileTests: XCTestCase {
    /// Inverted residuals with and without expansion, ReLU6 / ReLU / Hardswish, squeeze-excitation with
    /// Hardsigmoid, MNASNet's flat stem and stacks: torch's eval logits to 1e-4 + 1e-4·|ref|.
    func testMiniaturesMatchTorchLogits() throws {
        let manifest = try ZooMobileManifest.load()
        XCTAssertEqual(manifest.models.count, 3)
        for (name, entry) in manifest.models.sorted(by: { $0.key < $1.key }) {
            let got = try entry.model().logits(try entry.inputTensor())
            let want = try NpyArray(contentsOfFile: entry.path(entry.logits))
            XCTAssertEqual(got.shape, want.shape, name)
            assertAllClose(got.values, want.values, atol: manifest.tolerance, rtol: manifest.tolerance, name)
            print("\(name): max |Δlogit| \(zip(got.values, want.values).map { abs($0 - $1) }.max() ?? .nan)")
        }
    }

    /// The state dict has torchvision's keys in torchvision's order.
    func testStateDictKeysAreTheCheckpointsInOrder() throws {
        for (name, entry) in try ZooMobileManifest.load().models {
            let checkpoint = try WeightStore.open(entry.path(entry.checkpoint)).entries.map(\.name)
            XCTAssertEqual(entry.config.network.stateDict().map(\.name), checkpoint, name)
        }
    }

    /// One training-mode step (batch statistics, dropout p = 0): torch's loss and every parameter's
    /// gradient — through Hardswish, Hardsigmoid, squeeze-excitation and the residuals.
    func testTrainingGradientsMatchTorch() throws {
        for (name, entry) in try ZooMobileManifest.load().models.sorted(by: { $0.key < $1.key }) {
            let model = try entry.model()
            for case let dropout as Dropout in model.modules { dropout.probability = 0 }
            model.prepareTraining()
            let (loss, grad) = try crossEntropy(logits: try model.forward(try entry.inputTensor()), targets: entry.labels)
            try model.backward(grad)
            XCTAssertEqual(Double(loss), entry.losses[0], accuracy: 1e-5 * max(1, entry.losses[0]), name)
            let reference = try entry.trainTensors()
            var checked = 0
            for (key, p) in model.namedParameters() where p.kind != .buffer {
                let want = try XCTUnwrap(reference["grad.\(key)"], "\(name): no reference gradient for \(key)")
                let got = try XCTUnwrap(p.grad, "\(name): no gradient for \(key)").values
                assertAllClose(got, want, atol: 1e-5, rtol: 1e-3, "\(name): ∂\(key)")
                checked += 1
            }
            XCTAssertEqual(checked, reference.keys.filter { $0.hasPrefix("grad.") }.count, name)
        }
    }

    /// Every torchvision builder of the three families (and mnasnet0_5 as torchvision loads a version-1
    /// checkpoint): the same state-dict keys and shapes, in order.
    func testNamedConfigsHaveTorchvisionStateDicts() throws {
        let manifest = try ZooMobileManifest.load()
        let named: [String: ZooMobileManifest.Config] =
            MobileNetV2Config.named.mapValues { .mobilenetV2($0) }
            .merging(MobileNetV3Config.named.mapValues { .mobilenetV3($0) }) { a, _ in a }
            .merging(MNASNetConfig.named.mapValues { .mnasnet($0) }) { a, _ in a }
            .merging(["mnasnet0_5 (version 1)": .mnasnet(MNASNetConfig.named["mnasnet0_5"]!.withVersion1Stem)]) { a, _ in a }
        XCTAssertEqual(Set(named.keys), Set(manifest.torchvision_archs.keys))
        for (arch, want) in manifest.torchvision_archs.sorted(by: { $0.key < $1.key }) {
            let state = try XCTUnwrap(named[arch], arch).network.stateDict()
            let lines = state.map { "\($0.name) \($0.tensor.shape.map(String.init).joined(separator: " "))\n" }.joined()
            let digest = SHA256.hash(data: Data(lines.utf8)).map { String(format: "%02x", $0) }.joined()
            XCTAssertEqual(state.count, want.entries, arch)
            XCTAssertEqual(state.reduce(0) { $0 + $1.tensor.shape.reduce(1, *) }, want.elements, arch)
            XCTAssertEqual(digest, want.sha256, "\(arch): keys or shapes differ from torchvision's")
        }
    }

    /// torchvision's MNASNet-0.5 stem is 16 → 8 (version 2); a version-1 checkpoint (stem fixed at 32 → 16)
    /// is recognized from its first convolution and loads into the version-1 stem, as torchvision does.
    func testMNASNetVersion1Checkpoints() throws {
        func shapes(_ c: MNASNetConfig) -> [String: [Int]] {
            Dictionary(uniqueKeysWithValues: MNASNet(c).stateDict().map { ($0.name, $0.tensor.shape) })
        }
        let half = try XCTUnwrap(MNASNetConfig.named["mnasnet0_5"])
        XCTAssertEqual([half.stemChannels, half.separableChannels, half.stacks[0].inChannels], [16, 8, 8])
        let v1 = half.withVersion1Stem
        XCTAssertEqual([v1.stemChannels, v1.separableChannels, v1.stacks[0].inChannels], [32, 16, 16])
        XCTAssertEqual(half.adapted(toCheckpointShapes: shapes(v1)), v1)
        XCTAssertEqual(half.adapted(toCheckpointShapes: shapes(half)), half)
        let one = try XCTUnwrap(MNASNetConfig.named["mnasnet1_0"])
        XCTAssertEqual(one.withVersion1Stem, one)  // at alpha 1 both versions are one network
        XCTAssertEqual(one.adapted(toCheckpointShapes: shapes(one)), one)
        XCTAssertEqual(MNASNetConfig.named.mapValues(\.stemChannels), ["mnasnet0_5": 16, "mnasnet0_75": 24, "mnasnet1_0": 32, "mnasnet1_3": 40])
    }

    /// Every width, expansion, kernel and SE reads back from the shapes (any width multiplier or alpha);
    /// strides and activations come from the torchvision member with the same block count.
    func testConfigsInferredFromCheckpointShapes() throws {
        func shapes(_ network: Module) -> [String: [Int]] {
            Dictionary(uniqueKeysWithValues: network.stateDict().map { ($0.name, $0.tensor.shape) })
        }
        for c in [MobileNetV2Config.torchvision(widthMult: 1.4, numClasses: 7), .torchvision(widthMult: 0.5), .named["mobilenet_v2"]!] {
            XCTAssertEqual(try ConfigInference.mobilenetV2(shapes(MobileNetV2(c))), c)
        }
        for c in [MobileNetV3Config.torchvision(.small, widthMult: 0.75), .torchvision(.large, numClasses: 5),
                  .named["mobilenet_v3_small"]!, .named["mobilenet_v3_large"]!] {
            XCTAssertEqual(try ConfigInference.mobilenetV3(shapes(MobileNetV3(c))), c)
        }
        for c in Array(MNASNetConfig.named.values) + [.torchvision(alpha: 0.35), MNASNetConfig.named["mnasnet0_75"]!.withVersion1Stem] {
            XCTAssertEqual(try ConfigInference.mnasnet(shapes(MNASNet(c))), c)
        }
        // The miniatures have fewer blocks than any torchvision member: their strides cannot be known.
        for (name, entry) in try ZooMobileManifest.load().models {
            let s = try WeightStore.open(entry.path(entry.checkpoint)).entries
            let dict = Dictionary(uniqueKeysWithValues: s.map { ($0.name, $0.tensor.shape) })
            let attempt: () throws -> Any
            switch entry.config {
            case .mobilenetV2: attempt = { try ConfigInference.mobilenetV2(dict) }
            case .mobilenetV3: attempt = { try ConfigInference.mobilenetV3(dict) }
            case .mnasnet: attempt = { try ConfigInference.mnasnet(dict) }
            }
            XCTAssertThrowsError(try attempt(), name) { XCTAssertTrue($0 is ConfigInference.LayoutMismatch, "\(name): \($0)") }
        }
    }

    /// Classifier paths, feature widths and head replacement as torchvision's modules have them.
    func testFullSizeShapesAndHeads() throws {
        let cases: [(ZooMobileManifest.Config, String, Int)] = [
            (.mobilenetV2(.torchvision(numClasses: 4)), "classifier.1", 1280),
            (.mobilenetV3(.torchvision(.small, numClasses: 4)), "classifier.3", 1024),
            (.mobilenetV3(.torchvision(.large, numClasses: 4)), "classifier.3", 1280),
            (.mnasnet(.torchvision(alpha: 0.75, numClasses: 4)), "classifier.1", 1280),
        ]
        for (config, path, features) in cases {
            let network = config.network
            network.initialize(seed: 1, scheme: .kaiming)
            let model = try Model(network: network, arch: "\(config)")
            XCTAssertEqual(model.classifierPath, path)
            XCTAssertEqual(model.featureCount, features)
            let x = try Tensor(shape: [1, 3, 64, 64], repeating: 0.5)
            XCTAssertEqual(try model.logits(x).shape, [1, 4])
            XCTAssertEqual(try model.features(x).shape, [1, features])
            try model.replaceClassifier(Linear(features, 3))
            XCTAssertEqual(try model.logits(x).shape, [1, 3])
        }
    }

    /// Every torchvision size against torch's logits on two photographs, when tools/check_zoo_full_mobile.py
    /// has written `.build-zoo-full/mobile/` (not in CI: the checkpoints are full size).
    func testFullSizeModelsMatchTorch() throws {
        let folder = TestPaths.root.appendingPathComponent(".build-zoo-full/mobile")
        let manifestURL = folder.appendingPathComponent("manifest.json")
        guard FileManager.default.fileExists(atPath: manifestURL.path) else {
            throw XCTSkip("no \(folder.path): run tools/check_zoo_full_mobile.py to check the full-size models")
        }
        struct Files: Decodable { let checkpoint: String, input: String, logits: String }
        struct Full: Decodable { let models: [String: Files] }
        let full = try JSONDecoder().decode(Full.self, from: Data(contentsOf: manifestURL))
        let named: [String: ZooMobileManifest.Config] =
            MobileNetV2Config.named.mapValues { .mobilenetV2($0) }
            .merging(MobileNetV3Config.named.mapValues { .mobilenetV3($0) }) { a, _ in a }
            .merging(MNASNetConfig.named.mapValues { .mnasnet($0) }) { a, _ in a }
        XCTAssertEqual(Set(full.models.keys), Set(named.keys))
        var table: [String] = []
        for (arch, files) in full.models.sorted(by: { $0.key < $1.key }) {
            func path(_ file: String) -> String { folder.appendingPathComponent(file).path }
            let network = try XCTUnwrap(named[arch]).network
            try network.loadCheckpoint(path(files.checkpoint))
            let model = try Model(network: network, arch: arch)
            let x = try NpyArray(contentsOfFile: path(files.input)), want = try NpyArray(contentsOfFile: path(files.logits))
            let got = try model.logits(try Tensor(shape: x.shape, values: x.values))
            XCTAssertEqual(got.shape, want.shape, arch)
            assertAllClose(got.values, want.values, atol: 1e-4, rtol: 1e-4, arch)
            let maxDiff = zip(got.values, want.values).map { abs($0 - $1) }.max() ?? .nan
            let peak = want.values.map(abs).max() ?? 0
            table.append("| \(arch) | \(maxDiff) | \(peak) |")
        }
        print((["| arch | max |Δlogit| | max |logit| |", "|---|---|---|"] + table).joined(separator: "\n"))
    }
}
