import Foundation
import GraftCore
import GraftModels
import GraftModelsTestSupport
import GraftModelsXNN
import GraftStore
import GraftTensor
import GraftTestSupport
import XCTest

/// The full-size torchvision ResNet-50 and EfficientNet-B0 of ../shared/fixtures give torch's logits
/// to 1e-4 on the XNNPACK engine too (random weights with perturbed BatchNorm statistics, real photos).
final class XNNFullSizeParityTests: XCTestCase {
    func check(_ arch: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let (v, samples) = try FullSizeReferences.compare(arch, logits: { try XNNInference(model: $0, threads: 2).logits($1) }) else {
            throw XCTSkip("../shared/fixtures is absent")
        }
        print("\(arch) on XNNPACK: \(v.summary)")
        XCTAssertTrue(v.withinTolerance, "\(arch): \(v.summary)", file: file, line: line)
        XCTAssertEqual(v.top1Matches, samples, "\(arch): \(v.summary)", file: file, line: line)
    }

    func testResNet50() throws { try check("resnet50") }
    func testEfficientNetB0() throws { try check("efficientnet_b0") }
}

/// Every full-size checkpoint of tools/check_zoo_full_*.py (`.build-zoo-full/<group>/`, not in CI,
/// skipped when absent) whose family XNNPACK covers gives torch's logits on the XNNPACK engine by the
/// zoo scripts' rule (`FullSizeReferences.zooRule`).
final class XNNZooFullSizeTests: XCTestCase {
    func testEveryCoveredFullSizeCheckpointMatchesTorch() throws {
        let root = TestPaths.root.appendingPathComponent(".build-zoo-full")
        let groups = ["core", "classic", "mobile", "dense", "convnext"].filter { FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path) }
        guard !groups.isEmpty else { throw XCTSkip(".build-zoo-full is absent: run tools/check_zoo_full_*.py first") }
        var rows = ["| arch | max abs Δlogit (XNNPACK) | share of tolerance |", "|---|---|---|"]
        for group in groups {
            let folder = root.appendingPathComponent(group)
            let archs = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".pth") }.map { String($0.dropLast(4)) }.sorted()
            for arch in archs {
                let model = try ModelLoader.load(store: try WeightStore.open(folder.appendingPathComponent("\(arch).pth").path)).model
                let input = try NpyArray(contentsOfFile: folder.appendingPathComponent("\(arch)_input.npy").path)
                guard (try? XNNInference.check(model, height: input.shape[2], width: input.shape[3])) != nil else { continue }
                let want = try NpyArray(contentsOfFile: folder.appendingPathComponent("\(arch)_logits.npy").path)
                let got = try XNNInference(model: model, threads: 2).logits(try Tensor(shape: input.shape, values: input.values))
                let exactURL = folder.appendingPathComponent("\(arch)_logits_f64.npy")
                let exact = FileManager.default.fileExists(atPath: exactURL.path) ? try NpyArray(contentsOfFile: exactURL.path).values : nil
                let r = FullSizeReferences.zooRule(got: got.values, want: want.values, exact: exact)
                XCTAssertNil(r.failure, arch)
                rows.append(String(format: "| %@ | %.2e | %.2f |", arch, r.worst, r.share))
            }
        }
        print(rows.joined(separator: "\n"))
        XCTAssertGreaterThan(rows.count, 2, "no covered family among the full-size checkpoints")
    }
}
