import Foundation
import GraftCore
import GraftModels
import GraftNN
import GraftSafetensors
import GraftStore
import GraftTensor
import GraftTestSupport
import XCTest

/// `Fixtures/zoo/classic/` (tools/make_zoo_fixtures_classic.py): miniatures of torchvision's AlexNet,
/// SqueezeNet 1.0/1.1, GoogLeNet and Inception v3 with their checkpoints, eval logits, one training-mode
/// gradient set and 3 SGD steps recorded from PyTorch.
struct ClassicManifest: Decodable {
    enum Config {
        case alexnet(AlexNetConfig)
        case squeezenet(SqueezeNetConfig)
        case googlenet(GoogLeNetConfig)
        case inceptionV3(InceptionV3Config)

        var network: FeatureHeadNetwork {
            switch self {
            case .alexnet(let c): return AlexNet(c)
            case .squeezenet(let c): return SqueezeNet(c)
            case .googlenet(let c): return GoogLeNet(c)
            case .inceptionV3(let c): return InceptionV3(c)
            }
        }
    }

    struct Entry: Decodable {
        let family: String
        let config: Config
        let checkpoint: String
        let file: String
        let no_gradient: [String]

        enum Keys: String, CodingKey { case family, config, checkpoint, file, no_gradient }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            family = try c.decode(String.self, forKey: .family)
            checkpoint = try c.decode(String.self, forKey: .checkpoint)
            file = try c.decode(String.self, forKey: .file)
            no_gradient = try c.decode([String].self, forKey: .no_gradient)
            switch family {
            case "alexnet": config = .alexnet(try c.decode(AlexNetConfig.self, forKey: .config))
            case "squeezenet": config = .squeezenet(try c.decode(SqueezeNetConfig.self, forKey: .config))
            case "googlenet": config = .googlenet(try c.decode(GoogLeNetConfig.self, forKey: .config))
            case "inception_v3": config = .inceptionV3(try c.decode(InceptionV3Config.self, forKey: .config))
            default: throw DecodingError.dataCorruptedError(forKey: .family, in: c, debugDescription: "unknown family \(family)")
            }
        }
    }

    let tolerance: Float
    let labels: [Int]
    let models: [String: Entry]

    static let folder = "zoo/classic"

    static func load() throws -> ClassicManifest {
        try TestPaths.decodeFixture(ClassicManifest.self, "\(folder)/manifest.json")
    }

    static func tensors(_ file: String) throws -> [String: RawTensor] {
        let f = try SafetensorsFile(path: TestPaths.fixture("\(folder)/\(file)"))
        return try Dictionary(uniqueKeysWithValues: f.names.map { ($0, try f.tensor(named: $0)) })
    }

    /// The shared input: two photos as uint8, `(u8 − 128) / 64` (exact in float32).
    static func input() throws -> Tensor {
        let raw = try XCTUnwrap(try tensors("input.safetensors")["input_u8"])
        return try Tensor(shape: raw.shape, values: raw.floatValues().map { ($0 - 128) / 64 })
    }

    /// The miniature's network with its checkpoint loaded strictly.
    static func network(_ entry: Entry) throws -> FeatureHeadNetwork {
        let net = entry.config.network
        try net.loadCheckpoint(TestPaths.fixture("\(folder)/\(entry.checkpoint)"))
        return net
    }
}

final class ZooClassicTests: XCTestCase {
    /// numpy.allclose: |a − b| ≤ atol + rtol·|b| element by element; returns the largest |a − b|.
    @discardableResult
    static func assertClose(_ a: [Float], _ b: [Float], atol: Float, rtol: Float, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        var worst: Float = 0
        var failed = false
        for (x, y) in zip(a, b) {
            let d = abs(x - y)
            worst = max(worst, d)
            if !(d <= atol + rtol * abs(y)) && !failed {
                failed = true
                XCTFail("\(what): |\(x) − \(y)| = \(d) > \(atol) + \(rtol)·|ref|", file: file, line: line)
            }
        }
        return worst
    }

    func testEvalLogitsMatchTorchvision() throws {
        let manifest = try ClassicManifest.load()
        let x = try ClassicManifest.input()
        XCTAssertEqual(manifest.models.count, 5)
        for (name, entry) in manifest.models.sorted(by: { $0.key < $1.key }) {
            let net = try ClassicManifest.network(entry)
            let ref = try ClassicManifest.tensors(entry.file)
            net.prepareInference()
            let logits = try net(x)
            let want = try XCTUnwrap(ref["eval_logits"])
            XCTAssertEqual(logits.shape, want.shape, name)
            let worst = Self.assertClose(logits.values, want.floatValues(), atol: manifest.tolerance, rtol: manifest.tolerance, "\(name): logits")
            // The same through the split halves (features, then head), as feature caching runs them.
            let split = try net.forwardHead(try net.forwardFeatures(x))
            XCTAssertEqual(split.values, logits.values, "\(name): forwardHead(forwardFeatures(x)) ≠ forward(x)")
            print("\(name): eval max |Δlogit| \(worst)")
        }
    }

    /// `stateDict()` has the checkpoint's keys in the checkpoint's (torchvision's) order.
    func testStateDictKeysAreTorchvisionsInOrder() throws {
        let manifest = try ClassicManifest.load()
        for (name, entry) in manifest.models {
            let store = try WeightStore.open(TestPaths.fixture("\(ClassicManifest.folder)/\(entry.checkpoint)"))
            let net = entry.config.network
            XCTAssertEqual(net.stateDict().map(\.name), store.entries.map(\.name), name)
        }
    }

    func testGradientsMatchPyTorch() throws {
        try checkGradients(frozenFraction: 0)
    }

    /// With the first parameters frozen (a frozen body, or half of it), the rest get the same gradients
    /// and nothing before them records or computes any: the blocks' `prepareBackward` cut the graph.
    func testGradientsWithFrozenPrefix() throws {
        try checkGradients(frozenFraction: 0.5)
        try checkGradients(frozenFraction: 0.9)
    }

    func checkGradients(frozenFraction: Double) throws {
        let manifest = try ClassicManifest.load()
        let x = try ClassicManifest.input()
        for (name, entry) in manifest.models.sorted(by: { $0.key < $1.key }) {
            let net = try ClassicManifest.network(entry)
            let ref = try ClassicManifest.tensors(entry.file)
            for (_, m) in net.namedModules() { (m as? Dropout)?.probability = 0 }
            let trainable = net.namedParameters().filter { $0.parameter.kind != .buffer }
            let frozen = Int(Double(trainable.count) * frozenFraction)
            for (i, p) in trainable.enumerated() { p.parameter.requiresGrad = i >= frozen }
            net.prepareTraining()
            let logits = try net(x)
            let (loss, grad) = try crossEntropy(logits: logits, targets: manifest.labels)
            for p in net.parameters { p.grad = nil }
            _ = try net.backward(grad)

            let refLoss = try XCTUnwrap(ref["loss"]).floatValues()[0]
            XCTAssertEqual(loss, refLoss, accuracy: 1e-5, "\(name): loss")
            Self.assertClose(logits.values, try XCTUnwrap(ref["train_logits"]).floatValues(), atol: 1e-5, rtol: 1e-4,
                             "\(name): training-mode logits")
            let packed = try XCTUnwrap(ref["grads"]).floatValues()
            var offset = 0, checked = 0, skipped = 0
            var worst: Float = 0
            for (i, (key, p)) in trainable.enumerated() {
                let n = p.value.count
                let want = Array(packed[offset..<(offset + n)])
                offset += n
                if i < frozen {
                    XCTAssertNil(p.grad, "\(name): \(key) is frozen")
                    continue
                }
                if entry.no_gradient.contains(where: { key.hasPrefix($0) }) {
                    // Auxiliary heads: outside the forward, no gradient on either side.
                    XCTAssertNil(p.grad, "\(name): \(key) is an auxiliary head's, it gets no gradient")
                    XCTAssertEqual(want.map(abs).max() ?? 0, 0, "\(name): \(key)")
                    skipped += 1
                    continue
                }
                let got = try XCTUnwrap(p.grad, "\(name): no gradient for \(key)").values
                worst = max(worst, Self.assertClose(got, want, atol: 1e-5, rtol: 1e-3, "\(name): grad \(key)"))
                checked += 1
            }
            XCTAssertEqual(offset, packed.count, "\(name): the packed gradients have \(packed.count) values, the model's parameters \(offset)")
            XCTAssertGreaterThan(checked, 0, name)
            print("\(name) (\(frozen) of \(trainable.count) frozen): \(checked) gradients (\(skipped) aux skipped), "
                  + "max |Δ| \(worst), loss \(loss) vs \(refLoss)")
        }
    }

    /// GoogLeNet's auxiliary heads, run on demand in evaluation mode, give torchvision's aux logits.
    func testGoogLeNetAuxHeads() throws {
        let manifest = try ClassicManifest.load()
        let entry = try XCTUnwrap(manifest.models["googlenet_mini"])
        let net = try XCTUnwrap(try ClassicManifest.network(entry) as? GoogLeNet)
        let want = try XCTUnwrap(try ClassicManifest.tensors(entry.file)["aux_logits"]).floatValues()
        let outs = try net.auxOutputs(try ClassicManifest.input())
        XCTAssertEqual(outs.count, 2)
        Self.assertClose(outs.flatMap(\.values), want, atol: 1e-4, rtol: 1e-4, "googlenet aux logits")
    }

    /// The module paths are torchvision's: a few spot checks beyond the keys (modules without state).
    func testModulePaths() throws {
        let google = GoogLeNet(GoogLeNetConfig.named["googlenet"]!)
        let paths = Set(google.namedModules().map(\.path))
        for p in ["maxpool1", "inception3a.branch4.0", "inception4e.branch3.1.bn", "maxpool4", "aux2.dropout", "dropout", "fc"] {
            XCTAssertTrue(paths.contains(p), "googlenet: \(p)")
        }
        XCTAssertFalse(paths.contains("conv1.relu"), "BasicConv2d's ReLU is a function call in torchvision")
        let inception = InceptionV3(InceptionV3Config.named["inception_v3"]!)
        let ipaths = inception.namedModules().map(\.path)
        XCTAssertEqual(Array(ipaths.prefix(4)), ["", "Conv2d_1a_3x3", "Conv2d_1a_3x3.conv", "Conv2d_1a_3x3.bn"])
        XCTAssertTrue(ipaths.contains("Mixed_7c.branch3x3dbl_3b.conv"))
        XCTAssertLessThan(ipaths.firstIndex(of: "AuxLogits")!, ipaths.firstIndex(of: "Mixed_7a")!)
        XCTAssertEqual(inception.auxInputPath, "Mixed_6e")
        XCTAssertEqual(google.auxInputPaths, ["inception4a", "inception4d"])
        let squeeze = SqueezeNet(SqueezeNetConfig.named["squeezenet1_1"]!)
        XCTAssertTrue(squeeze.module(at: "features.3.expand3x3_activation") is ReLU)
        XCTAssertTrue(squeeze.module(at: "classifier.1") is Conv2d)
        XCTAssertEqual(SqueezeNetConfig.named["squeezenet1_0"]!.featureChannels, 512)
        let alex = AlexNet(AlexNetConfig.named["alexnet"]!)
        XCTAssertTrue(alex.module(at: "classifier.6") is Linear)
        XCTAssertTrue(alex.module(at: "features.12") is MaxPool2d)
    }

    /// Parameter counts of torchvision's sizes (torchvision's weights meta `num_params`: GoogLeNet's
    /// excludes the aux heads, which its builder drops after loading; Inception v3's builder keeps
    /// AuxLogits).
    func testTorchvisionParameterCounts() {
        func count(_ m: Module, excluding: [String] = []) -> Int {
            m.namedParameters().filter { p in p.parameter.kind != .buffer && !excluding.contains { p.name.hasPrefix($0) } }
                .reduce(0) { $0 + $1.parameter.value.count }
        }
        XCTAssertEqual(count(AlexNet(AlexNetConfig.named["alexnet"]!)), 61_100_840)
        XCTAssertEqual(count(SqueezeNet(SqueezeNetConfig.named["squeezenet1_0"]!)), 1_248_424)
        XCTAssertEqual(count(SqueezeNet(SqueezeNetConfig.named["squeezenet1_1"]!)), 1_235_496)
        XCTAssertEqual(count(GoogLeNet(GoogLeNetConfig.named["googlenet"]!), excluding: ["aux1.", "aux2."]), 6_624_904)
        XCTAssertEqual(count(GoogLeNet(GoogLeNetConfig.named["googlenet"]!)), 13_004_888)
        XCTAssertEqual(count(InceptionV3(InceptionV3Config.named["inception_v3"]!)), 27_161_264)
        XCTAssertEqual(count(InceptionV3(InceptionV3Config.named["inception_v3"]!), excluding: ["AuxLogits."]), 23_834_568)
    }

    /// `Model` wraps AlexNet, GoogLeNet and Inception v3 (a Linear at the classifier path) with their
    /// logits unchanged and `[N, F]` features; SqueezeNet (a 1×1 Conv2d classifier) with its logits
    /// unchanged and its last map as features, which are not pooled rows.
    func testModelWrapping() throws {
        let manifest = try ClassicManifest.load()
        let x = try ClassicManifest.input()
        for (name, entry) in manifest.models.sorted(by: { $0.key < $1.key }) {
            let net = try ClassicManifest.network(entry)
            net.prepareInference()
            let direct = try net(x)
            if net is SqueezeNet {
                let model = try Model(network: net, arch: name)
                XCTAssertEqual(try model.logits(x).values, direct.values, name)
                XCTAssertFalse(model.featuresArePooled, name)
                XCTAssertEqual(try model.features(x).rank, 4, "\(name): SqueezeNet's features are the last map")
                XCTAssertEqual(model.numClasses, (net as! SqueezeNet).numClasses, name)
                continue
            }
            let model = try Model(network: net, arch: name)
            XCTAssertEqual(try model.logits(x).values, direct.values, name)
            let f = try model.features(x)
            XCTAssertEqual(f.shape, [2, model.featureCount], name)
            XCTAssertEqual(try model.head(f).values, direct.values, name)
        }
    }

    /// SqueezeNet's head replacement: a Linear becomes the 1×1 `classifier.1` with the same numbers.
    func testSqueezeNetHeadReplacement() throws {
        let manifest = try ClassicManifest.load()
        let entry = try XCTUnwrap(manifest.models["squeezenet1_1_mini"])
        let net = try XCTUnwrap(try ClassicManifest.network(entry) as? SqueezeNet)
        let old = net.finalConv
        let linear = try Linear(weight: try old.weight.value.reshaped([old.outChannels, old.inChannels]), bias: old.bias!.value)
        let x = try ClassicManifest.input()
        net.prepareInference()
        let before = try net(x)
        try net.replaceClassifier(with: linear)
        XCTAssertFalse(net.finalConv === old)
        XCTAssertEqual(try net(x).values, before.values)
        XCTAssertEqual(net.stateDict().map(\.name).suffix(2), ["classifier.1.weight", "classifier.1.bias"])
    }
}

/// The full-size check: every torchvision size of the four families, random weights with perturbed
/// BatchNorm, two real photos through the weights' eval transforms, against torch's float32 logits.
/// Runs when tools/check_zoo_full_classic.py has written .build-zoo-full/classic/.
final class ZooClassicFullSizeTests: XCTestCase {
    struct Manifest: Decodable {
        struct Entry: Decodable {
            let checkpoint: String
            let input: String
            let logits: String
            let aux_logits: String?
        }
        let models: [String: Entry]
    }

    func testEveryTorchvisionSize() throws {
        let dir = TestPaths.root.appendingPathComponent(".build-zoo-full/classic")
        let manifestURL = dir.appendingPathComponent("manifest.json")
        guard FileManager.default.fileExists(atPath: manifestURL.path) else {
            throw XCTSkip(".build-zoo-full/classic is absent: run tools/check_zoo_full_classic.py to make the full-size references")
        }
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: manifestURL))
        var table: [String] = []
        for (arch, entry) in manifest.models.sorted(by: { $0.key < $1.key }) {
            let net: FeatureHeadNetwork
            if let c = AlexNetConfig.named[arch] { net = AlexNet(c) }
            else if let c = SqueezeNetConfig.named[arch] { net = SqueezeNet(c) }
            else if let c = GoogLeNetConfig.named[arch] { net = GoogLeNet(c) }
            else if let c = InceptionV3Config.named[arch] { net = InceptionV3(c) }
            else { XCTFail("no config named \(arch)"); continue }
            try net.loadCheckpoint(dir.appendingPathComponent(entry.checkpoint).path)
            let input = try NpyArray(contentsOfFile: dir.appendingPathComponent(entry.input).path)
            let want = try NpyArray(contentsOfFile: dir.appendingPathComponent(entry.logits).path)
            let x = try Tensor(shape: input.shape, values: input.values)
            net.prepareInference()
            let start = Date()
            let got = try net(x)
            let seconds = Date().timeIntervalSince(start)
            XCTAssertEqual(got.shape, want.shape, arch)
            let worst = ZooClassicTests.assertClose(got.values, want.values, atol: 1e-4, rtol: 1e-4, "\(arch): logits")
            var row = "\(arch): input \(input.shape), max |Δlogit| \(worst), max |logit| \(want.values.map(abs).max() ?? 0), "
                + String(format: "%.2f s", seconds)
            if let auxFile = entry.aux_logits {
                let auxWant = try NpyArray(contentsOfFile: dir.appendingPathComponent(auxFile).path)
                let auxGot: [Float]
                if let g = net as? GoogLeNet { auxGot = try g.auxOutputs(x).flatMap(\.values) }
                else { auxGot = try XCTUnwrap(try (net as? InceptionV3)?.auxOutput(x)).values }
                let auxWorst = ZooClassicTests.assertClose(auxGot, auxWant.values, atol: 1e-4, rtol: 1e-4, "\(arch): aux logits")
                row += ", aux max |Δ| \(auxWorst)"
            }
            table.append(row)
        }
        print(table.joined(separator: "\n"))
    }
}
