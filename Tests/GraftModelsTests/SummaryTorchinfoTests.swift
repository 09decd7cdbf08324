import GraftModels
import GraftNN
import GraftTensor
import GraftTestSupport
import XCTest

/// `Module.summary` against torchinfo 1.8's `summary` of the same torchvision builders
/// (Fixtures/summary/torchinfo.json, made by tools/make_summary_fixtures.py): parameters,
/// mult-adds and forward/backward bytes per model at its default crop, and per leaf for four
/// families whose counting rules differ (bottleneck convs, depthwise + SE, LayerNorm + Linear,
/// asymmetric 1×7 convs).
final class SummaryTorchinfoTests: XCTestCase {
    struct Reference: Decodable {
        struct Leaf: Decodable { let output_shape: [Int]; let params: Int; let mult_adds: Int }
        struct Case: Decodable {
            let size: Int
            let total_params: Int
            let trainable_params: Int
            let mult_adds: Int
            let forward_backward_bytes: Int
            let leaves: [String: Leaf]
        }
        let torchinfo: String
        let cases: [String: Case]
    }

    /// Above this many parameters a random build and a full-size forward cost more than the rule
    /// they would check (the two regnet_y_128gf / 32gf cases share their counting with smaller RegNets).
    private let parameterLimit = 150_000_000

    func testTotalsAndLeavesMatchTorchinfo() throws {
        let reference = try TestPaths.decodeFixture(Reference.self, "summary/torchinfo.json")
        var checked = 0, leavesChecked = 0
        for arch in Zoo.archNames.sorted() {
            guard let ref = reference.cases[arch], ref.total_params <= parameterLimit,
                  var spec = Zoo.spec(named: arch) else { continue }
            // The reference builds these two without auxiliary heads, as their published weights are counted.
            if case .googlenet(var c) = spec { c.auxLogits = false; spec = .googlenet(c) }
            if case .inceptionV3(var c) = spec { c.auxLogits = false; spec = .inceptionV3(c) }
            let summary = try Zoo.network(spec).summary(try Tensor(shape: [1, 3, ref.size, ref.size]))
            XCTAssertEqual(summary.totalParameters, ref.total_params, arch)
            XCTAssertEqual(summary.trainableParameters, ref.trainable_params, arch)
            XCTAssertEqual(summary.multAdds, ref.mult_adds, arch)
            XCTAssertEqual(summary.activationBytes, ref.forward_backward_bytes, arch)
            let rows = Dictionary(summary.layers.map { ($0.path, $0) }, uniquingKeysWith: { (a: ModuleSummaryRow, _: ModuleSummaryRow) in a })
            for (path, leaf) in ref.leaves {
                guard let row = rows[path] else { XCTFail("\(arch): no module \(path)"); continue }
                XCTAssertEqual(row.outputShape, Self.nchw(leaf.output_shape, channelsLastIn: arch, at: path), "\(arch) \(path)")
                XCTAssertEqual(row.parameters, leaf.params, "\(arch) \(path)")
                XCTAssertEqual(row.multAdds, leaf.mult_adds, "\(arch) \(path)")
                leavesChecked += 1
            }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 60, "architectures compared")
        XCTAssertGreaterThanOrEqual(leavesChecked, 400, "leaves compared")
    }

    /// torchvision's ConvNeXt block permutes to NHWC around its LayerNorm and Linears (children 2–5);
    /// Graft keeps NCHW there (ConvNeXt.swift), so torchinfo's shape is compared with C moved back.
    private static func nchw(_ shape: [Int], channelsLastIn arch: String, at path: String) -> [Int] {
        guard arch.hasPrefix("convnext"), shape.count == 4,
              ["2", "3", "4", "5"].contains(where: { path.hasSuffix(".block.\($0)") }) else { return shape }
        return [shape[0], shape[3], shape[1], shape[2]]
    }
}
