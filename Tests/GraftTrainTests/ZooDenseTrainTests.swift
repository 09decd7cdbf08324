import Foundation
import GraftCore
import GraftModels
import GraftNN
import GraftSafetensors
import GraftTensor
import GraftTestSupport
import GraftTrain
import XCTest

/// Three SGD steps (lr 0.1, momentum 0.9) in training mode on the DenseNet, ShuffleNet V2 and RegNet
/// miniatures of `Fixtures/zoo/dense/` (tools/make_zoo_fixtures_dense.py) give torch.optim.SGD's losses
/// and final parameters.
final class ZooDenseTrainTests: XCTestCase {
    struct Manifest: Decodable {
        struct Model: Decodable {
            struct Config: Decodable {
                let growth_rate: Int?
                let block_config: [Int]?
                let num_init_features: Int?
                let bn_size: Int?
                let stages_repeats: [Int]?
                let stages_out_channels: [Int]?
                let depths: [Int]?
                let widths: [Int]?
                let group_widths: [Int]?
                let bottleneck_multipliers: [Double]?
                let strides: [Int]?
                let se_ratio: Double?
                let stem_width: Int?
                let num_classes: Int
            }
            let config: Config
            let checkpoint: String
            let sgd: String
            let labels: [Int]
            let sgd_losses: [Float]
        }
        struct SGDSettings: Decodable {
            let steps: Int
            let lr: Float
            let momentum: Float
        }
        let input: String
        let sgd: SGDSettings
        let models: [String: Model]
    }

    static func network(_ c: Manifest.Model.Config) throws -> Module {
        if let growth = c.growth_rate, let blocks = c.block_config, let initial = c.num_init_features, let bn = c.bn_size {
            return DenseNet(DenseNetConfig(growthRate: growth, blockConfig: blocks, numInitFeatures: initial, bnSize: bn,
                                           numClasses: c.num_classes))
        }
        if let repeats = c.stages_repeats, let channels = c.stages_out_channels {
            return ShuffleNetV2(ShuffleNetV2Config(stagesRepeats: repeats, stagesOutChannels: channels, numClasses: c.num_classes))
        }
        guard let depths = c.depths, let widths = c.widths, let groups = c.group_widths, let multipliers = c.bottleneck_multipliers,
              let strides = c.strides else { throw XCTSkip("unknown miniature configuration") }
        return RegNet(RegNetConfig(depths: depths, widths: widths, groupWidths: groups, bottleneckMultipliers: multipliers,
                                   strides: strides, seRatio: c.se_ratio, stemWidth: c.stem_width ?? 32, numClasses: c.num_classes))
    }

    func testThreeSGDStepsMatchTorch() throws {
        let manifest = try TestPaths.decodeFixture(Manifest.self, "zoo/dense/manifest.json")
        let npy = try NpyArray(contentsOfFile: TestPaths.fixture("zoo/dense/\(manifest.input)"))
        let x = try Tensor(shape: npy.shape, values: npy.values)
        for (name, m) in manifest.models.sorted(by: { $0.key < $1.key }) {
            let net = try Self.network(m.config)
            try net.loadCheckpoint(TestPaths.fixture("zoo/dense/\(m.checkpoint)"))
            let params = net.trainableParameters().map(\.parameter)
            let sgd = SGD(groups: [ParameterGroup(name: "all", parameters: params, learningRate: manifest.sgd.lr, weightDecay: 0,
                                                  momentum: manifest.sgd.momentum)])
            net.prepareTraining()
            var losses: [Float] = []
            for _ in 0..<manifest.sgd.steps {
                for p in params { p.grad = nil }
                let (loss, grad) = try crossEntropy(logits: try net(x), targets: m.labels)
                _ = try net.backward(grad)
                try sgd.step()
                losses.append(loss)
            }
            for (got, want) in zip(losses, m.sgd_losses) { XCTAssertEqual(got, want, accuracy: 2e-5, "\(name): losses \(losses)") }
            let file = try SafetensorsFile(path: TestPaths.fixture("zoo/dense/\(m.sgd)"))
            var checked = 0
            for (key, p) in net.namedParameters() where p.kind != .buffer {
                let want = try file.tensor(named: "state.\(key)").floatValues()
                let got = p.value.values
                let scale = want.map(abs).max() ?? 0
                let worst = zip(got, want).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThanOrEqual(worst, 1e-5 + 1e-3 * scale, "\(name): \(key) after \(manifest.sgd.steps) steps, max |Δ| \(worst)")
                checked += 1
            }
            XCTAssertEqual(checked, file.names.filter { $0.hasPrefix("state.") }.count, name)
            print("\(name): \(checked) parameters match after \(manifest.sgd.steps) SGD steps, losses \(losses)")
        }
    }
}
