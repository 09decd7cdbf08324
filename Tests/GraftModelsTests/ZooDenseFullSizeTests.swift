import Foundation
import GraftCore
import GraftModels
import GraftNN
import GraftTensor
import GraftTestSupport
import XCTest

/// Every torchvision DenseNet, ShuffleNet V2 and RegNet size against torch's logits on real photos
/// (random weights with perturbed BatchNorm layers), from `.build-zoo-full/dense/`, which
/// tools/check_zoo_full.py --group dense writes (not committed, not in CI; skipped when absent).
final class ZooDenseFullSizeTests: XCTestCase {
    struct Manifest: Decodable {
        struct Model: Decodable {
            let weights: String
            let input_shape: [Int]
            let float64_deviation: Double?
            let torch_seconds: Double
        }
        let models: [String: Model]
    }

    static let folder = TestPaths.root.appendingPathComponent(".build-zoo-full/dense")

    static func network(_ arch: String) -> FeatureHeadNetwork? {
        if let c = DenseNetConfig.named[arch] { return DenseNet(c) }
        if let c = ShuffleNetV2Config.named[arch] { return ShuffleNetV2(c) }
        if let c = RegNetConfig.named[arch] { return RegNet(c) }
        return nil
    }

    func testEverySizeMatchesTorchvision() throws {
        let manifestURL = Self.folder.appendingPathComponent("manifest.json")
        guard FileManager.default.fileExists(atPath: manifestURL.path) else {
            throw XCTSkip(".build-zoo-full/dense is absent: run tools/check_zoo_full.py --group dense to make the full-size references")
        }
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: manifestURL))
        let only = ProcessInfo.processInfo.environment["GRAFT_ZOO_FULL_ONLY"].map { Set($0.split(separator: ",").map(String.init)) }
        var table = ["| arch | weights preset | input | max abs dlogit | max rel | float64 dev (torch) | graft s | torch s |",
                     "|---|---|---|---|---|---|---|---|"]
        let order = DenseNetConfig.named.keys.sorted() + ShuffleNetV2Config.named.keys.sorted() + RegNetConfig.named.keys.sorted()
        for arch in order {
            guard let entry = manifest.models[arch], only?.contains(arch) ?? true else { continue }
            let net = try XCTUnwrap(Self.network(arch), arch)
            try net.loadCheckpoint(Self.folder.appendingPathComponent("\(arch).pth").path)
            let input = try NpyArray(contentsOfFile: Self.folder.appendingPathComponent("\(arch)_input.npy").path)
            let want = try NpyArray(contentsOfFile: Self.folder.appendingPathComponent("\(arch)_logits.npy").path)
            let x = try Tensor(shape: input.shape, values: input.values)
            net.prepareInference()
            _ = try net(x)  // warm-up: folded weights and packed filters are made once
            var times: [Double] = []
            var got = x
            for _ in 0..<3 {
                let start = Date()
                got = try net(x)
                times.append(Date().timeIntervalSince(start))
            }
            XCTAssertEqual(got.shape, want.shape, arch)
            let diffs = zip(got.values, want.values).map { abs($0 - $1) }
            let worst = diffs.max() ?? .infinity
            let rel = zip(diffs, want.values).map { $0 / max(abs($1), 1e-3) }.max() ?? .infinity
            for (d, w) in zip(diffs, want.values) where d > 1e-4 + 1e-4 * abs(w) {
                XCTFail("\(arch): |Δ| \(d) at logit \(w)")
                break
            }
            let f64 = entry.float64_deviation.map { String(format: "%.1e", $0) } ?? "-"
            table.append("| \(arch) | \(entry.weights) | \(entry.input_shape[2]) | \(String(format: "%.2e", worst)) | "
                + "\(String(format: "%.1e", rel)) | \(f64) | \(String(format: "%.3f", times.sorted()[1])) | \(entry.torch_seconds) |")
            print(table.last!)
        }
        print(table.joined(separator: "\n"))
    }
}
