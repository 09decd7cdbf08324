import Foundation
import GraftCore
import GraftModels
import GraftNN
import GraftSafetensors
import GraftTensor
import GraftTestSupport
import GraftTrain
import XCTest

/// Three torch.optim.SGD steps (lr 0.1, momentum 0.9, training mode, dropout p = 0) of the classic
/// miniatures (`Fixtures/zoo/classic/`, tools/make_zoo_fixtures_classic.py) with GraftTrain's SGD: the
/// losses and the final state dict — parameters, BatchNorm running statistics and counters — are torch's.
final class ZooClassicSGDTests: XCTestCase {
    struct Manifest: Decodable {
        struct Entry: Decodable {
            let family: String
            let checkpoint: String
            let file: String
        }
        struct SGDInfo: Decodable {
            let steps: Int
            let lr: Float
            let momentum: Float
        }
        let labels: [Int]
        let sgd: SGDInfo
        let models: [String: Entry]
    }

    static let folder = "zoo/classic"

    /// The miniature's network, from the manifest's `config` (the JSON of the family's Swift config).
    static func network(_ name: String, _ e: Manifest.Entry) throws -> Module {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("\(folder)/manifest.json"))))
        let models = try XCTUnwrap((json as? [String: Any])?["models"] as? [String: Any])
        let config = try JSONSerialization.data(withJSONObject: try XCTUnwrap((models[name] as? [String: Any])?["config"]))
        let d = JSONDecoder()
        switch e.family {
        case "alexnet": return AlexNet(try d.decode(AlexNetConfig.self, from: config))
        case "squeezenet": return SqueezeNet(try d.decode(SqueezeNetConfig.self, from: config))
        case "googlenet": return GoogLeNet(try d.decode(GoogLeNetConfig.self, from: config))
        case "inception_v3": return InceptionV3(try d.decode(InceptionV3Config.self, from: config))
        default: throw NNError.badArgument("unknown family \(e.family)")
        }
    }

    func testThreeSGDStepsMatchPyTorch() throws {
        let manifest = try TestPaths.decodeFixture(Manifest.self, "\(Self.folder)/manifest.json")
        let inputFile = try SafetensorsFile(path: TestPaths.fixture("\(Self.folder)/input.safetensors"))
        let raw = try inputFile.tensor(named: "input_u8")
        let x = try Tensor(shape: raw.shape, values: raw.floatValues().map { ($0 - 128) / 64 })
        for (name, entry) in manifest.models.sorted(by: { $0.key < $1.key }) {
            let net = try Self.network(name, entry)
            try net.loadCheckpoint(TestPaths.fixture("\(Self.folder)/\(entry.checkpoint)"))
            for (_, m) in net.namedModules() { (m as? Dropout)?.probability = 0 }
            let f = try SafetensorsFile(path: TestPaths.fixture("\(Self.folder)/\(entry.file)"))
            let group = ParameterGroup(name: "all", parameters: net.trainableParameters().map(\.parameter),
                                       learningRate: manifest.sgd.lr, weightDecay: 0, momentum: manifest.sgd.momentum)
            let sgd = SGD(groups: [group])
            var losses: [Float] = []
            for _ in 0..<manifest.sgd.steps {
                sgd.zeroGradients()
                net.prepareTraining()
                let logits = try net(x)
                let (loss, grad) = try crossEntropy(logits: logits, targets: manifest.labels)
                _ = try net.backward(grad)
                try sgd.step()
                losses.append(loss)
            }
            let refLosses = try f.tensor(named: "sgd_losses").floatValues()
            for (a, b) in zip(losses, refLosses) { XCTAssertEqual(a, b, accuracy: 1e-5, "\(name): losses \(losses) vs \(refLosses)") }

            let packed = try f.tensor(named: "sgd_state").floatValues()
            let counters = try f.tensor(named: "sgd_counters").floatValues()
            var offset = 0, counter = 0
            var worst: Float = 0
            for (key, state) in net.namedStateEntries() {
                switch state {
                case .parameter(let p):
                    let n = p.value.count
                    let want = Array(packed[offset..<(offset + n)])
                    offset += n
                    for (a, b) in zip(p.value.values, want) {
                        worst = max(worst, abs(a - b))
                        if !(abs(a - b) <= 1e-5 + 1e-4 * abs(b)) {
                            XCTFail("\(name): \(key) after \(manifest.sgd.steps) steps: \(a) vs \(b)")
                            break
                        }
                    }
                case .counter(let c):
                    XCTAssertEqual(Float(c.value), counters[counter], "\(name): \(key)")
                    counter += 1
                }
            }
            XCTAssertEqual(offset, packed.count, name)
            XCTAssertEqual(counter, counters.count, name)
            print("\(name): \(manifest.sgd.steps) SGD steps, losses \(losses), final state max |Δ| \(worst)")
        }
    }
}
