import Foundation
import GraftCore
import GraftModels
import GraftNN
import GraftSafetensors
import GraftStore
import GraftTensor
import GraftTestSupport
import XCTest

/// `Fixtures/zoo/dense/manifest.json` (tools/make_zoo_fixtures_dense.py): DenseNet, ShuffleNet V2 and
/// RegNet X / Y miniatures built from torchvision's classes, with their eval logits, one training-mode
/// gradient set and the parameters after 3 SGD steps.
struct DenseZooManifest: Decodable {
    struct Config: Decodable {
        // DenseNet
        let growth_rate: Int?
        let block_config: [Int]?
        let num_init_features: Int?
        let bn_size: Int?
        let drop_rate: Double?
        // ShuffleNet V2
        let stages_repeats: [Int]?
        let stages_out_channels: [Int]?
        // RegNet
        struct InitParams: Decodable {
            let depth: Int
            let w_0: Int
            let w_a: Double
            let w_m: Double
            let group_width: Int
            let se_ratio: Double?
        }
        let init_params: InitParams?
        let depths: [Int]?
        let widths: [Int]?
        let group_widths: [Int]?
        let bottleneck_multipliers: [Double]?
        let strides: [Int]?
        let se_ratio: Double?
        let stem_width: Int?
        let num_classes: Int
    }
    struct Model: Decodable {
        let config: Config
        let checkpoint: String
        let logits: String
        let gradients: String
        let sgd: String
        let keys: Int
        let labels: [Int]
        let zero_gradient: [String]
        let sgd_losses: [Float]
    }
    struct SGD: Decodable {
        let steps: Int
        let lr: Float
        let momentum: Float
    }
    let input: String
    let labels: [Int]
    let sgd: SGD
    let logit_tolerance: Double
    let models: [String: Model]
    let legacy_keys: String

    static func load() throws -> DenseZooManifest {
        try TestPaths.decodeFixture(DenseZooManifest.self, "zoo/dense/manifest.json")
    }

    static func path(_ file: String) -> String { TestPaths.fixture("zoo/dense/\(file)") }

    /// The Swift network of a miniature's configuration (parameters zero until loaded).
    static func network(_ c: Config) throws -> FeatureHeadNetwork {
        if let growth = c.growth_rate, let blocks = c.block_config, let initial = c.num_init_features, let bn = c.bn_size {
            return DenseNet(DenseNetConfig(growthRate: growth, blockConfig: blocks, numInitFeatures: initial, bnSize: bn,
                                           dropRate: Float(c.drop_rate ?? 0), numClasses: c.num_classes))
        }
        if let repeats = c.stages_repeats, let channels = c.stages_out_channels {
            return ShuffleNetV2(ShuffleNetV2Config(stagesRepeats: repeats, stagesOutChannels: channels, numClasses: c.num_classes))
        }
        guard let depths = c.depths, let widths = c.widths, let groups = c.group_widths, let multipliers = c.bottleneck_multipliers,
              let strides = c.strides else { throw XCTSkip("unknown miniature configuration") }
        var config = RegNetConfig(depths: depths, widths: widths, groupWidths: groups, bottleneckMultipliers: multipliers,
                                  strides: strides, seRatio: c.se_ratio, stemWidth: c.stem_width ?? 32, numClasses: c.num_classes)
        if let p = c.init_params {
            // The stages torchvision generated are what fromInitParams generates.
            var generated = try RegNetConfig.fromInitParams(depth: p.depth, w0: p.w_0, wa: p.w_a, wm: p.w_m, groupWidth: p.group_width,
                                                            seRatio: p.se_ratio)
            generated.stemWidth = config.stemWidth
            generated.numClasses = config.numClasses
            XCTAssertEqual(generated, config, "fromInitParams")
            config = generated
        }
        return RegNet(config)
    }

    /// A miniature with its checkpoint loaded strictly.
    static func loaded(_ m: Model) throws -> FeatureHeadNetwork {
        let net = try network(m.config)
        try net.loadCheckpoint(path(m.checkpoint))
        return net
    }

    func inputTensor() throws -> Tensor {
        let x = try NpyArray(contentsOfFile: Self.path(input))
        return try Tensor(shape: x.shape, values: x.values)
    }

    static func tensors(_ file: String) throws -> [String: RawTensor] {
        let f = try SafetensorsFile(path: path(file))
        return try Dictionary(uniqueKeysWithValues: f.names.map { ($0, try f.tensor(named: $0)) })
    }
}

/// |a − b| ≤ atol + rtol · max|b| over one tensor.
func assertTensorClose(_ a: [Float], _ b: [Float], atol: Float, rtol: Float, _ what: String,
                       file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    let scale = b.map(abs).max() ?? 0
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(worst, atol + rtol * scale, "\(what): max |Δ| \(worst), max |ref| \(scale)", file: file, line: line)
}

final class ZooDenseTests: XCTestCase {
    // MARK: Miniatures against torchvision

    func testEvalLogitsMatchTorchvision() throws {
        let manifest = try DenseZooManifest.load()
        let x = try manifest.inputTensor()
        for (name, m) in manifest.models.sorted(by: { $0.key < $1.key }) {
            let net = try DenseZooManifest.loaded(m)
            net.prepareInference()
            let got = try net(x)
            let want = try NpyArray(contentsOfFile: DenseZooManifest.path(m.logits))
            XCTAssertEqual(got.shape, want.shape, name)
            let worst = zip(got.values, want.values).map { abs($0 - $1) - 1e-4 * abs($1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(worst, 1e-4, "\(name): |Δ| − 1e-4·|ref| = \(worst)")
            print("\(name): max |Δlogit| \(zip(got.values, want.values).map { abs($0 - $1) }.max()!)")
        }
    }

    func testStateDictKeysAreTheCheckpointsInOrder() throws {
        let manifest = try DenseZooManifest.load()
        for (name, m) in manifest.models {
            let keys = try WeightStore.open(DenseZooManifest.path(m.checkpoint)).entries.map(\.name)
            let net = try DenseZooManifest.network(m.config)
            XCTAssertEqual(net.stateDict().map(\.name), keys, name)
            XCTAssertEqual(keys.count, m.keys, name)
        }
    }

    func testTrainingGradientsMatchTorchvision() throws {
        let manifest = try DenseZooManifest.load()
        let x = try manifest.inputTensor()
        for (name, m) in manifest.models.sorted(by: { $0.key < $1.key }) {
            let net = try DenseZooManifest.loaded(m)
            let ref = try DenseZooManifest.tensors(m.gradients)
            net.prepareTraining()
            let logits = try net(x)
            let (loss, grad) = try crossEntropy(logits: logits, targets: m.labels)
            _ = try net.backward(grad)
            XCTAssertEqual(loss, try XCTUnwrap(ref["loss"]).floatValues()[0], accuracy: 1e-5, "\(name): loss")
            assertTensorClose(logits.values, try XCTUnwrap(ref["logits"]).floatValues(), atol: 1e-5, rtol: 1e-4, "\(name): logits")
            var checked = 0
            for (key, p) in net.namedParameters() where p.kind != .buffer {
                let want = try XCTUnwrap(ref["grad.\(key)"], "\(name): no reference for \(key)").floatValues()
                let got = try XCTUnwrap(p.grad, "\(name): no gradient for \(key)").values
                if m.zero_gradient.contains(key) {
                    // Zero in exact arithmetic: both sides are float32 rounding noise.
                    assertTensorClose(got, want, atol: 1e-5, rtol: 0, "\(name): \(key) (zero in exact arithmetic)")
                } else {
                    assertTensorClose(got, want, atol: 1e-6, rtol: 1e-3, "\(name): \(key)")
                }
                checked += 1
            }
            XCTAssertEqual(checked, ref.keys.filter { $0.hasPrefix("grad.") }.count, name)
            // Running statistics after the forward (DenseNet: the dense layers' first BatchNorm runs outside its module).
            for (key, p) in net.namedParameters() where p.kind == .buffer {
                guard let want = ref["after.\(key)"] else { continue }
                assertTensorClose(p.value.values, want.floatValues(), atol: 1e-6, rtol: 1e-5, "\(name): \(key) after")
            }
            for (key, entry) in net.namedStateEntries() {
                guard case .counter(let c) = entry, name.hasPrefix("densenet") else { continue }
                XCTAssertEqual(c.value, try originalCounter(m, key) + 1, "\(name): \(key)")
            }
            print("\(name): \(checked) gradients match, loss \(loss)")
        }
    }

    private func originalCounter(_ m: DenseZooManifest.Model, _ key: String) throws -> Int64 {
        let store = try WeightStore.open(DenseZooManifest.path(m.checkpoint))
        let raw = try XCTUnwrap(store.entries.first { $0.name == key }).tensor.load()
        return Int64(raw.floatValues()[0])
    }

    /// Frozen early layers change no later gradient: the paths that skip recording (a frozen dense
    /// block, transition or stage) hand the right gradients on.
    func testFrozenPrefixKeepsTheLaterGradients() throws {
        let manifest = try DenseZooManifest.load()
        let x = try manifest.inputTensor()
        let frozen = ["densenet_mini": ["features.conv0", "features.norm0", "features.denseblock1.denselayer1", "features.denseblock1.denselayer2.norm1"],
                      "shufflenet_v2_mini": ["conv1", "stage2.0.branch1", "stage2.1"],
                      "regnet_x_mini": ["stem", "trunk_output.block1"],
                      "regnet_y_mini": ["stem", "trunk_output.block1.block1-0.f.a", "trunk_output.block1.block1-0.proj"]]
        for (name, paths) in frozen {
            let m = try XCTUnwrap(manifest.models[name])
            let ref = try DenseZooManifest.tensors(m.gradients)
            let net = try DenseZooManifest.loaded(m)
            for path in paths { _ = try net.freeze(matching: path) }
            net.prepareTraining()
            _ = try net.backward(try crossEntropy(logits: try net(x), targets: m.labels).gradLogits)
            for (key, p) in net.namedParameters() where p.kind != .buffer {
                if !p.requiresGrad { XCTAssertNil(p.grad, "\(name): frozen \(key) has a gradient"); continue }
                guard !m.zero_gradient.contains(key) else { continue }
                let got = try XCTUnwrap(p.grad, "\(name): no gradient for \(key)").values
                assertTensorClose(got, try XCTUnwrap(ref["grad.\(key)"]).floatValues(), atol: 1e-6, rtol: 1e-3, "\(name) frozen: \(key)")
            }
        }
    }

    /// With BatchNorm in eval mode during training (frozen statistics), the recording paths must give
    /// the same logits as the fused inference kernels.
    func testRecordingPathsEqualInferenceWithRunningStatistics() throws {
        let manifest = try DenseZooManifest.load()
        let x = try manifest.inputTensor()
        for (name, m) in manifest.models.sorted(by: { $0.key < $1.key }) {
            let net = try DenseZooManifest.loaded(m)
            net.prepareInference()
            let fused = try net(x)
            net.eval()
            _ = net.prepareBackward(trainableBefore: false)
            let recorded = try net(x)
            assertTensorClose(recorded.values, fused.values, atol: 1e-5, rtol: 1e-5, "\(name): recording path")
            // Backward through running statistics runs (dense layers recompute norm1 through the module).
            _ = try net.backward(try crossEntropy(logits: recorded, targets: m.labels).gradLogits)
            XCTAssertNotNil(net.namedParameters().first { $0.name.hasSuffix("norm0.weight") || $0.name.hasSuffix("stem.1.weight")
                || $0.name == "conv1.1.weight" }?.parameter.grad, name)
        }
    }

    /// Observed modules make the fused kernels step aside; the observed values are the modules' own
    /// outputs and the logits do not change.
    func testObservedModulesSeeTheirOwnOutputs() throws {
        let manifest = try DenseZooManifest.load()
        let x = try manifest.inputTensor()
        let m = try XCTUnwrap(manifest.models["densenet_mini"])
        let net = try DenseZooManifest.loaded(m)
        let paths = ["features.denseblock1.denselayer2", "features.denseblock1.denselayer2.conv2",
                     "features.denseblock1", "features.transition1.conv", "features.transition1", ""]
        let out = try net.intermediates(x, at: paths)
        let layer = try XCTUnwrap(out["features.denseblock1.denselayer2"])
        XCTAssertEqual(layer.shape, [2, 4, 9, 7])
        XCTAssertEqual(layer, out["features.denseblock1.denselayer2.conv2"])
        let block = try XCTUnwrap(out["features.denseblock1"])
        XCTAssertEqual(block.shape, [2, 16, 9, 7])
        XCTAssertEqual(try sliceChannels(block, 12..<16), layer)
        let conv = try XCTUnwrap(out["features.transition1.conv"])
        XCTAssertEqual(conv.shape, [2, 8, 9, 7])
        XCTAssertEqual(try XCTUnwrap(out["features.transition1"]).shape, [2, 8, 4, 3])
        net.prepareInference()
        assertTensorClose(try XCTUnwrap(out[""]).values, try net(x).values, atol: 1e-6, rtol: 1e-5, "observed logits")
    }

    // MARK: Configurations

    /// torchvision's channel counts for every RegNet (read from the models torchvision 0.29 builds):
    /// per stage (blocks, width, groups of the 3×3, squeeze width of the stage's first block).
    static let torchvisionRegNets: [String: [(Int, Int, Int, Int?)]] = [
        "regnet_x_16gf": [(2, 256, 2, nil), (6, 512, 4, nil), (13, 896, 7, nil), (1, 2048, 16, nil)],
        "regnet_x_1_6gf": [(2, 72, 3, nil), (4, 168, 7, nil), (10, 408, 17, nil), (2, 912, 38, nil)],
        "regnet_x_32gf": [(2, 336, 2, nil), (7, 672, 4, nil), (13, 1344, 8, nil), (1, 2520, 15, nil)],
        "regnet_x_3_2gf": [(2, 96, 2, nil), (6, 192, 4, nil), (15, 432, 9, nil), (2, 1008, 21, nil)],
        "regnet_x_400mf": [(1, 32, 2, nil), (2, 64, 4, nil), (7, 160, 10, nil), (12, 400, 25, nil)],
        "regnet_x_800mf": [(1, 64, 4, nil), (3, 128, 8, nil), (7, 288, 18, nil), (5, 672, 42, nil)],
        "regnet_x_8gf": [(2, 80, 1, nil), (5, 240, 2, nil), (15, 720, 6, nil), (1, 1920, 16, nil)],
        "regnet_y_128gf": [(2, 528, 2, 8), (7, 1056, 4, 132), (17, 2904, 11, 264), (1, 7392, 28, 726)],
        "regnet_y_16gf": [(2, 224, 2, 8), (4, 448, 4, 56), (11, 1232, 11, 112), (1, 3024, 27, 308)],
        "regnet_y_1_6gf": [(2, 48, 2, 8), (6, 120, 5, 12), (17, 336, 14, 30), (2, 888, 37, 84)],
        "regnet_y_32gf": [(2, 232, 1, 8), (5, 696, 3, 58), (12, 1392, 6, 174), (1, 3712, 16, 348)],
        "regnet_y_3_2gf": [(2, 72, 3, 8), (5, 216, 9, 18), (13, 576, 24, 54), (1, 1512, 63, 144)],
        "regnet_y_400mf": [(1, 48, 6, 8), (3, 104, 13, 12), (6, 208, 26, 26), (6, 440, 55, 52)],
        "regnet_y_800mf": [(1, 64, 4, 8), (3, 144, 9, 16), (8, 320, 20, 36), (2, 784, 49, 80)],
        "regnet_y_8gf": [(2, 224, 4, 8), (4, 448, 8, 56), (10, 896, 16, 112), (1, 2016, 36, 224)],
    ]

    func testRegNetWidthsAreTorchvisionsForEverySize() throws {
        XCTAssertEqual(Set(RegNetConfig.named.keys), Set(Self.torchvisionRegNets.keys))
        for (name, stages) in Self.torchvisionRegNets {
            let c = try XCTUnwrap(RegNetConfig.named[name])
            XCTAssertEqual(c.depths, stages.map(\.0), name)
            XCTAssertEqual(c.widths, stages.map(\.1), name)
            XCTAssertEqual(c.strides, [2, 2, 2, 2], name)
            var widthIn = c.stemWidth
            for (s, stage) in stages.enumerated() {
                let wb = RegNetConfig.bottleneckWidth(c.widths[s], c.bottleneckMultipliers[s])
                XCTAssertEqual(wb / c.groupWidths[s], stage.2, "\(name) stage \(s + 1) groups")
                if let se = stage.3 {
                    XCTAssertEqual(RegNetConfig.squeezeWidth(widthIn, try XCTUnwrap(c.seRatio)), se, "\(name) stage \(s + 1) squeeze")
                } else {
                    XCTAssertNil(c.seRatio, name)
                }
                widthIn = c.widths[s]
            }
        }
        // regnet_x_1_6gf meets an exact tie (22.5 → 22 with torch.round's half-to-even), which makes
        // stage 2 168 wide rather than 192.
        XCTAssertEqual(RegNetConfig.named["regnet_x_1_6gf"]?.widths[1], 168)
        XCTAssertThrowsError(try RegNetConfig.fromInitParams(depth: 4, w0: 12, wa: 8, wm: 2, groupWidth: 4))
        XCTAssertEqual(RegNetConfig.squeezeWidth(10, 0.25), 2)  // round(2.5) is 2 in Python
        XCTAssertEqual(RegNetConfig.squeezeWidth(14, 0.25), 4)  // round(3.5) is 4
    }

    /// DenseNet's dropout after each layer: identity in evaluation, a mask in training that backward
    /// applies too.
    func testDenseNetDropoutTrainsAndEvaluates() throws {
        let manifest = try DenseZooManifest.load()
        let m = try XCTUnwrap(manifest.models["densenet_mini"])
        var c = try XCTUnwrap((try DenseZooManifest.network(m.config) as? DenseNet)?.config)
        c.dropRate = 0.5
        let net = DenseNet(c)
        try net.loadCheckpoint(DenseZooManifest.path(m.checkpoint))
        let x = try manifest.inputTensor()
        net.prepareInference()
        let want = try NpyArray(contentsOfFile: DenseZooManifest.path(m.logits))
        assertTensorClose(try net(x).values, want.values, atol: 1e-4, rtol: 1e-4, "eval ignores dropout")
        net.useRandomSource(RandomSource(seed: 3))
        net.prepareTraining()
        let y = try net(x)
        _ = try net.backward(try crossEntropy(logits: y, targets: m.labels).gradLogits)
        let g = try XCTUnwrap(net.parameter("features.conv0.weight")?.grad).values
        XCTAssertTrue(g.allSatisfy(\.isFinite) && g.contains { $0 != 0 })
        XCTAssertNotEqual(y.values, try { net.useRandomSource(RandomSource(seed: 4)); return try net(x).values }())
    }

    func testDenseNetAndShuffleNetSizes() {
        let finals = ["densenet121": 1024, "densenet161": 2208, "densenet169": 1664, "densenet201": 1920]
        XCTAssertEqual(Set(DenseNetConfig.named.keys), Set(finals.keys))
        for (name, width) in finals { XCTAssertEqual(DenseNetConfig.named[name]?.blockInputChannels.final, width, name) }
        XCTAssertEqual(DenseNetConfig.named["densenet121"]?.blockInputChannels.blocks, [64, 128, 256, 512])
        XCTAssertEqual(Set(ShuffleNetV2Config.named.keys),
                       ["shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"])
    }

    // MARK: Sizes read from checkpoints

    static func shapes(_ net: Module) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: net.namedStateEntries().map { entry -> (String, [Int]) in
            switch entry.entry {
            case .parameter(let p): return (entry.name, p.shape)
            case .counter: return (entry.name, [])
            }
        })
    }

    func testConfigsAreInferredFromCheckpointShapes() throws {
        let manifest = try DenseZooManifest.load()
        for (name, m) in manifest.models {
            let shapes = try WeightStore.open(DenseZooManifest.path(m.checkpoint)).entries.map { ($0.name, $0.tensor.shape) }
            let s = Dictionary(uniqueKeysWithValues: shapes)
            switch try DenseZooManifest.network(m.config) {
            case let net as DenseNet: XCTAssertEqual(try ConfigInference.densenet(s), net.config, name)
            case let net as ShuffleNetV2: XCTAssertEqual(try ConfigInference.shufflenetV2(s), net.config, name)
            case let net as RegNet: XCTAssertEqual(try ConfigInference.regnet(s), net.config, name)
            default: XCTFail(name)
            }
        }
        for (name, c) in DenseNetConfig.named { XCTAssertEqual(try ConfigInference.densenet(Self.shapes(DenseNet(c))), c, name) }
        for (name, c) in ShuffleNetV2Config.named {
            XCTAssertEqual(try ConfigInference.shufflenetV2(Self.shapes(ShuffleNetV2(c))), c, name)
        }
        // The RegNets below 100 M parameters (the shapes need the zero-filled network).
        for name in ["regnet_x_400mf", "regnet_x_3_2gf", "regnet_x_16gf", "regnet_y_400mf", "regnet_y_1_6gf", "regnet_y_16gf"] {
            let c = try XCTUnwrap(RegNetConfig.named[name])
            XCTAssertEqual(try ConfigInference.regnet(Self.shapes(RegNet(c))), c, name)
        }
        XCTAssertThrowsError(try ConfigInference.densenet(["features.conv0.weight": [8, 3, 7, 7]]))
    }

    // MARK: DenseNet's legacy keys

    func testLegacyDenseNetKeysRenameAsTorchvision() throws {
        struct Pairs: Decodable { let pairs: [[String]] }
        let manifest = try DenseZooManifest.load()
        let pairs = try TestPaths.decodeFixture(Pairs.self, "zoo/dense/\(manifest.legacy_keys)").pairs
        XCTAssertGreaterThan(pairs.count, 10)
        let renamed = DenseNetKeyRules.map(pairs.map { (name: $0[0], tensor: $0[1]) })
        for (got, pair) in zip(renamed, pairs) {
            XCTAssertEqual(got.name, pair[1], pair[0])
            XCTAssertEqual(got.tensor, pair[1])  // tensors pass through untouched, order kept
        }
        XCTAssertTrue(DenseNetKeyRules.needsRenaming(pairs.map { $0[0] }))
        XCTAssertFalse(DenseNetKeyRules.needsRenaming(pairs.map { $0[1] }))
    }

    /// A whole miniature checkpoint under the old names loads strictly once renamed.
    func testLegacyDenseNetCheckpointLoadsAfterRenaming() throws {
        let manifest = try DenseZooManifest.load()
        let m = try XCTUnwrap(manifest.models["densenet_mini"])
        let reference = try DenseZooManifest.loaded(m)
        let old = reference.stateDict().map { entry -> (name: String, tensor: RawTensor) in
            var parts = entry.name.split(separator: ".").map(String.init)
            let module = parts[parts.count - 2]
            if entry.name.contains("denselayer"), ["norm1", "norm2", "conv1", "conv2"].contains(module),
               parts.last != "num_batches_tracked" {
                parts[parts.count - 2] = module.dropLast() + "." + module.suffix(1)
            }
            return (parts.joined(separator: "."), entry.tensor)
        }
        XCTAssertTrue(old.contains { $0.name.hasSuffix("denselayer1.norm.1.running_var") })
        let net = try DenseZooManifest.network(m.config)
        XCTAssertThrowsError(try net.load(stateDict: old))
        _ = try net.load(stateDict: DenseNetKeyRules.map(old))
        let x = try manifest.inputTensor()
        net.prepareInference()
        reference.prepareInference()
        XCTAssertEqual(try net(x), try reference(x))
    }

    // MARK: Channel kernels

    func testChannelShuffleAndItsInverse() throws {
        let x = try Tensor(shape: [2, 6, 1, 2], values: (0..<24).map(Float.init))
        let y = try channelShuffle(x, groups: 2)
        // torch: x.view(2, 2, 3, 1, 2).transpose(1, 2) → channels 0, 3, 1, 4, 2, 5.
        let order = [0, 3, 1, 4, 2, 5]
        for n in 0..<2 { for (j, c) in order.enumerated() { for p in 0..<2 {
            XCTAssertEqual(y.values[(n * 6 + j) * 2 + p], x.values[(n * 6 + c) * 2 + p])
        } } }
        XCTAssertEqual(try channelShuffleBackward(y, groups: 2), x)
        XCTAssertEqual(try channelShuffleBackward(try channelShuffle(x, groups: 3), groups: 3), x)
        // cat + shuffle of a channel range equals the two steps.
        let b = try Tensor(shape: [2, 2, 1, 2], values: (0..<8).map { Float($0) * -1 })
        let fused = try shuffleConcatChannels([(x, 1..<3), (b, 0..<2)], groups: 2)
        XCTAssertEqual(fused, try channelShuffle(try concatChannels([try sliceChannels(x, 1..<3), b]), groups: 2))
        let parts = try shuffleConcatChannelsBackward(fused, sizes: [2, 2], groups: 2)
        XCTAssertEqual(parts[0], try sliceChannels(x, 1..<3))
        XCTAssertEqual(parts[1], b)
    }

    func testChannelRangesWriteAddAndNormalize() throws {
        var buffer = try Tensor(shape: [2, 5, 2, 1])
        let a = try Tensor(shape: [2, 2, 2, 1], values: (1...8).map(Float.init))
        try writeChannels(&buffer, a, at: 3)
        XCTAssertEqual(try sliceChannels(buffer, 3..<5), a)
        try addChannels(&buffer, a, at: 3)
        XCTAssertEqual(try sliceChannels(buffer, 3..<5).values, a.values.map { 2 * $0 })
        XCTAssertEqual(try sliceChannels(buffer, 0..<3).values, [Float](repeating: 0, count: 12))
        XCTAssertThrowsError(try writeChannels(&buffer, a, at: 4))
        let scale = try Tensor(shape: [2], values: [2, -1]), shift = try Tensor(shape: [2], values: [1, 3])
        let y = try batchNormInference(buffer, channels: 3..<5, scale: scale, shift: shift, activation: .relu)
        let want = try batchNormInference(try sliceChannels(buffer, 3..<5), scale: scale, shift: shift, activation: .relu)
        XCTAssertEqual(y, want)
    }
}
