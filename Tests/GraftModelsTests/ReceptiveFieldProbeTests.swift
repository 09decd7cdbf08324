import GraftModels
import GraftNN
import GraftTensor
import GraftTestSupport
import XCTest

/// The receptive fields `Module.summary` reports, checked against what the network computes: the
/// centre value of the last feature map changes exactly when a perturbation reaches into the
/// reported window, per axis, for every family of the zoo.
///
/// Every weight is positive and every bias, running mean and shift zero, so an input that is zero
/// except for a band of ones leaves exactly zero every value the band cannot reach (squeeze-excitation
/// gates then scale zeros) and makes every value it can reach non-zero. Perturbing the columns
/// [0, r] changes the centre iff r ≥ the window's first column, and [l, S) iff l ≤ its last: two
/// binary searches per axis measure the window without knowing where it sits.
final class ReceptiveFieldProbeTests: XCTestCase {
    /// Families at their full depth, kernel sizes and strides (widths cut where a full-width probe
    /// at several hundred pixels would be slow; widths do not change a receptive field).
    func testFullDepthFamilies() throws {
        var resnet = try XCTUnwrap(Self.spec("resnet50", { if case .resnet(let c) = $0 { c } else { nil } }))
        resnet.widths = [4, 8, 16, 32]; resnet.stemWidth = 8
        var convnext = try XCTUnwrap(Self.spec("convnext_tiny", { if case .convnext(let c) = $0 { c } else { nil } }))
        convnext.stages = convnext.stages.enumerated().map { i, s in .init(channels: 4 << i, depth: s.depth) }
        var efficientnet = try XCTUnwrap(Self.spec("efficientnet_b0", { if case .efficientnet(let c) = $0 { c } else { nil } }))
        efficientnet.stages = efficientnet.stages.map { s in
            var s = s; s.inChannels = max(4, s.inChannels / 4); s.outChannels = max(4, s.outChannels / 4); return s
        }
        efficientnet.stemChannels = 8; efficientnet.headChannels = 16
        // DenseNet's depth is cut too: each layer's far-reaching part is its few new channels among all the
        // block's, so at densenet121's depth a probe's signal at the window's edge falls below float32's range.
        let densenet = DenseNetConfig(growthRate: 4, blockConfig: [2, 3, 4, 3], numInitFeatures: 8, bnSize: 2)
        let networks: [(String, Module)] = [
            ("resnet50", Zoo.network(.resnet(resnet))), ("convnext_tiny", Zoo.network(.convnext(convnext))),
            ("efficientnet_b0", Zoo.network(.efficientnet(efficientnet))), ("densenet (depth cut)", Zoo.network(.densenet(densenet))),
            ("mobilenet_v3_small", try XCTUnwrap(Zoo.spec(named: "mobilenet_v3_small").map(Zoo.network))),
            ("shufflenet_v2_x0_5", try XCTUnwrap(Zoo.spec(named: "shufflenet_v2_x0_5").map(Zoo.network))),
            ("mnasnet0_5", try XCTUnwrap(Zoo.spec(named: "mnasnet0_5").map(Zoo.network))),
            ("regnet_y_400mf", try XCTUnwrap(Zoo.spec(named: "regnet_y_400mf").map(Zoo.network))),
        ]
        for (name, network) in networks { try probe(network, name) }
    }

    /// The classic miniatures (AlexNet, SqueezeNet, GoogLeNet, Inception v3 with its 1×7 / 7×1 pairs),
    /// without the input transform so that zero stays zero.
    func testClassicMiniatures() throws {
        for (name, entry) in try ClassicManifest.load().models.sorted(by: { $0.key < $1.key }) {
            var config = entry.config
            if case .googlenet(var c) = config { c.transformInput = false; config = .googlenet(c) }
            if case .inceptionV3(var c) = config { c.transformInput = false; config = .inceptionV3(c) }
            try probe(config.network, name)
        }
    }

    private static func spec<C>(_ arch: String, _ unwrap: (ArchSpec) -> C?) -> C? {
        Zoo.spec(named: arch).flatMap(unwrap)
    }

    private func probe(_ network: Module, _ name: String) throws {
        Self.setProbeWeights(network)
        let reported = try network.summary(try Tensor(shape: [1, 3, 224, 224]))
        let path = try XCTUnwrap(reported.featureMapPath, name)
        let field = try XCTUnwrap(reported.featureMapField, name)
        // Room for the window on both sides of the centre, rounded to the largest stride.
        let size = (max(field.size[0], field.size[1]) + 2 * 48 + 31) / 32 * 32
        let base = try network.intermediates(try Tensor(shape: [1, 3, size, size]), at: [path])[path]!
        XCTAssertTrue(base.values.allSatisfy { $0 == 0 }, "\(name): a zero input gives a zero feature map")
        let centre = (base.shape[2] / 2, base.shape[3] / 2)
        for axis in 0..<2 {
            // Does perturbing the lines [from, to] (rows on axis 0, columns on axis 1) change the centre?
            func reaches(_ from: Int, _ to: Int) throws -> Bool {
                var x = [Float](repeating: 0, count: 3 * size * size)
                for c in 0..<3 { for i in 0..<size { for j in from...to {
                    x[(c * size + (axis == 0 ? j : i)) * size + (axis == 0 ? i : j)] = 1
                } } }
                let y = try network.intermediates(try Tensor(shape: [1, 3, size, size], values: x), at: [path])[path]!
                let v = y.values, (h, w) = (y.shape[2], y.shape[3])
                XCTAssertTrue(v.allSatisfy(\.isFinite), "\(name): probe overflowed")
                return (0..<y.shape[1]).contains { ch in v[(ch * h + centre.0) * w + centre.1] != 0 }
            }
            // First line: the smallest r with [0, r] reaching; last line: the largest l with [l, S) reaching.
            var (lo, hi) = (0, size - 1)
            while lo < hi { let mid = (lo + hi) / 2; if try reaches(0, mid) { hi = mid } else { lo = mid + 1 } }
            let first = lo
            (lo, hi) = (0, size - 1)
            while lo < hi { let mid = (lo + hi + 1) / 2; if try reaches(mid, size - 1) { lo = mid } else { hi = mid - 1 } }
            let last = lo
            XCTAssertTrue(first > 0 && last < size - 1, "\(name) axis \(axis): window [\(first), \(last)] clipped at \(size)")
            XCTAssertEqual(last - first + 1, field.size[axis], "\(name) axis \(axis): measured window [\(first), \(last)]")
        }
    }

    /// Positive weights scaled so a value neither vanishes nor overflows across a hundred layers: a
    /// convolution's taps sum to about one along a row or column of its kernel, with a slope across output
    /// channels so that a LayerNorm over channels (ConvNeXt) does not see a constant vector; norms are the identity.
    static func setProbeWeights(_ network: Module) {
        for (name, p) in network.namedParameters() {
            let shape = p.value.shape, count = p.value.count
            let leaf = name.split(separator: ".").last.map(String.init) ?? name
            let values: [Float]
            switch leaf {
            case "running_var": values = [Float](repeating: 1, count: count)
            case "num_batches_tracked", "running_mean", "bias": values = [Float](repeating: 0, count: count)
            default:
                if shape.count == 1 { values = [Float](repeating: 1, count: count); break }
                let fanIn = shape.count == 4 ? shape[1] * max(shape[2], shape[3]) : count / shape[0]
                let perOutput = count / shape[0]
                values = (0..<count).map { i in Float(1 + i % 3) * (1 + 0.1 * Float(i / perOutput % 3)) / Float(2 * fanIn) }
            }
            p.value = try! Tensor(shape: shape, values: values)
        }
    }
}
