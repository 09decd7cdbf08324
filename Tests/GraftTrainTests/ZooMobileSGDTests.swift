import Foundation
import GraftCore
import GraftModels
import GraftNN
import GraftSafetensors
import GraftTensor
import GraftTestSupport
import GraftTrain
import XCTest

/// Three SGD steps (lr 0.1, momentum 0.9, batch statistics, dropout p = 0) on the MobileNetV2, MobileNetV3
/// and MNASNet miniatures of `Fixtures/zoo/mobile/` give torch.optim.SGD's losses, weights and BatchNorm
/// running statistics (so MobileNetV3's momentum 0.01 and MNASNet's 1 − 0.9997 show too).
final class ZooMobileSGDTests: XCTestCase {
    struct Manifest: Decodable {
        struct SGD: Decodable { let steps: Int; let lr: Float; let momentum: Float }
        struct Entry: Decodable {
            let checkpoint: String, architecture: String, train: String, input: String
            let labels: [Int]
            let sgd: SGD
            let losses: [Double]
        }
        let models: [String: Entry]
    }

    /// The network of an entry, from its Codable config in the manifest.
    func network(_ json: [String: Any], _ architecture: String) throws -> FeatureHeadNetwork {
        let data = try JSONSerialization.data(withJSONObject: json)
        switch architecture {
        case "MobileNetV2": return MobileNetV2(try JSONDecoder().decode(MobileNetV2Config.self, from: data))
        case "MobileNetV3": return MobileNetV3(try JSONDecoder().decode(MobileNetV3Config.self, from: data))
        default: return MNASNet(try JSONDecoder().decode(MNASNetConfig.self, from: data))
        }
    }

    func testThreeSGDStepsMatchTorch() throws {
        let url = URL(fileURLWithPath: TestPaths.fixture("zoo/mobile/manifest.json"))
        let data = try Data(contentsOf: url)
        let manifest = try JSONDecoder().decode(Manifest.self, from: data)
        let raw = try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["models"] as? [String: Any])
        XCTAssertEqual(manifest.models.count, 3)
        for (name, entry) in manifest.models.sorted(by: { $0.key < $1.key }) {
            func path(_ file: String) -> String { TestPaths.fixture("zoo/mobile/\(file)") }
            let config = try XCTUnwrap((raw[name] as? [String: Any])?["config"] as? [String: Any])
            let net = try network(config, entry.architecture)
            try net.loadCheckpoint(path(entry.checkpoint))
            let model = try Model(network: net, arch: name)
            for case let dropout as Dropout in model.modules { dropout.probability = 0 }
            let x = try NpyArray(contentsOfFile: path(entry.input))
            let input = try Tensor(shape: x.shape, values: x.values)
            let group = ParameterGroup(name: "all", parameters: model.parameters.filter { $0.kind != .buffer },
                                       learningRate: entry.sgd.lr, weightDecay: 0, momentum: entry.sgd.momentum)
            let sgd = SGD(groups: [group])
            model.prepareTraining()
            for step in 0..<entry.sgd.steps {
                sgd.zeroGradients()
                let (loss, grad) = try crossEntropy(logits: try model.forward(input), targets: entry.labels)
                try model.backward(grad)
                try sgd.step()
                XCTAssertEqual(Double(loss), entry.losses[step], accuracy: 1e-4 * max(1, entry.losses[step]), "\(name) step \(step)")
            }
            let file = try SafetensorsFile(path: path(entry.train))
            var checked = 0
            for (key, p) in model.namedParameters() {
                guard file.names.contains("after.\(key)") else { continue }
                let want = try file.tensor(named: "after.\(key)").floatValues()
                let got = p.value.values
                var worst = 0.0
                for (a, b) in zip(got, want) {
                    let bound: Double = 1e-5 + 1e-3 * abs(Double(b))
                    worst = max(worst, abs(Double(a) - Double(b)) - bound)
                }
                XCTAssertEqual(got.count, want.count, "\(name): \(key)")
                XCTAssertLessThanOrEqual(worst, 0, "\(name): \(key) after \(entry.sgd.steps) steps")
                checked += 1
            }
            XCTAssertEqual(checked, file.names.filter { $0.hasPrefix("after.") }.count, name)
        }
    }
}
