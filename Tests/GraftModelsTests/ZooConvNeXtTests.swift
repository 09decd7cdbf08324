import Foundation
import GraftCore
import GraftModels
import GraftNN
import GraftSafetensors
import GraftStore
import GraftTensor
import GraftTestSupport
import XCTest

/// ConvNeXt against torchvision's own class (Fixtures/zoo/convnext, tools/make_zoo_fixtures_convnext.py):
/// keys, eval logits, every gradient and three SGD steps on a miniature; every torchvision size on real
/// photos when tools/make_zoo_fixtures_convnext.py --full has written .build-zoo-full/convnext.
final class ZooConvNeXtTests: XCTestCase {
    static let miniature = ConvNeXtConfig(stages: [.init(channels: 8, depth: 1), .init(channels: 16, depth: 2)],
                                          stochasticDepthProbability: 0, numClasses: 5)

    func loaded() throws -> ConvNeXt {
        let net = ConvNeXt(Self.miniature)
        try net.loadCheckpoint(TestPaths.fixture("zoo/convnext/mini.pth"))
        return net
    }

    func input() throws -> Tensor {
        let x = try NpyArray(contentsOfFile: TestPaths.fixture("zoo/convnext/input.npy"))
        return try Tensor(shape: x.shape, values: x.values)
    }

    static func assertClose(_ got: [Float], _ want: [Float], atol: Float, rtol: Float, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, what, file: file, line: line)
        let worst = zip(got, want).map { abs($0 - $1) / (atol + rtol * abs($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1, "\(what): max |Δ| \(zip(got, want).map { abs($0 - $1) }.max() ?? 0)", file: file, line: line)
    }

    func testKeysAndLogits() throws {
        let net = try loaded()
        let keys = try WeightStore.open(TestPaths.fixture("zoo/convnext/mini.pth")).entries.map(\.name)
        XCTAssertEqual(net.stateDict().map(\.name), keys, "state-dict keys and order are torchvision's")
        net.prepareInference()
        let want = try NpyArray(contentsOfFile: TestPaths.fixture("zoo/convnext/logits.npy"))
        Self.assertClose(try net(try input()).values, want.values, atol: 1e-4, rtol: 1e-4, "logits")
    }

    /// At inference a block folds its layer scale into the last Linear and adds the residual in that
    /// kernel; a traced block runs the plain path. The two agree, and a changed layer scale reaches the
    /// folded weights (they are cached by parameter version).
    func testFusedBlockMatchesThePlainPath() throws {
        let net = try loaded()
        net.prepareInference()
        let blocks = net.namedModules().compactMap { $0.1 as? CNBlock }
        XCTAssertEqual(blocks.count, 3)
        let x = try input()
        func logits(traced: Bool) throws -> [Float] {
            for b in blocks { b.forwardTracer = traced ? SilentTracer() : nil }
            defer { for b in blocks { b.forwardTracer = nil } }
            return try net(x).values
        }
        Self.assertClose(try logits(traced: false), try logits(traced: true), atol: 1e-6, rtol: 1e-5, "fused vs plain")
        let scale = blocks[1].layerScale
        scale.value = try Tensor(shape: scale.value.shape, values: scale.value.values.map { $0 * -3 + 0.25 })
        let fused = try logits(traced: false), plain = try logits(traced: true)
        Self.assertClose(fused, plain, atol: 1e-6, rtol: 1e-5, "after a layer-scale change")
        XCTAssertNotEqual(fused, try NpyArray(contentsOfFile: TestPaths.fixture("zoo/convnext/logits.npy")).values)
    }

    func testGradientsAndThreeSGDSteps() throws {
        let net = try loaded()
        let refs = try SafetensorsFile(path: TestPaths.fixture("zoo/convnext/grads.safetensors"))
        let x = try input()
        let labels = [1, 3]
        var momentum: [ObjectIdentifier: Tensor] = [:]
        for step in 0..<3 {
            net.prepareTraining()
            let logits = try net(x)
            let (_, grad) = try crossEntropy(logits: logits, targets: labels)
            for p in net.parameters { p.grad = nil }
            _ = try net.backward(grad)
            if step == 0 {
                for (name, p) in net.trainableParameters() {
                    let want = try refs.tensor(named: "grad.\(name)").floatValues()
                    Self.assertClose(try XCTUnwrap(p.grad, name).values, want, atol: 1e-5, rtol: 1e-3, "grad \(name)")
                }
            }
            // torch.optim.SGD(lr 0.1, momentum 0.9): buf = g on the first step, then 0.9·buf + g; p −= lr·buf.
            for (_, p) in net.trainableParameters() {
                guard let g = p.grad else { continue }
                let id = ObjectIdentifier(p)
                let buf = momentum[id].map { try! add(scaled($0, by: 0.9), g) } ?? g
                momentum[id] = buf
                p.value = try add(p.value, scaled(buf, by: -0.1))
            }
        }
        for (name, raw) in net.stateDict() where raw.dtype == .float32 {
            Self.assertClose(raw.floatValues(), try refs.tensor(named: "after.\(name)").floatValues(), atol: 1e-5, rtol: 1e-3, "after \(name)")
        }
    }

    func testEveryTorchvisionSizeOnRealPhotos() throws {
        let folder = TestPaths.root.appendingPathComponent(".build-zoo-full/convnext").path
        guard FileManager.default.fileExists(atPath: folder) else {
            throw XCTSkip("no .build-zoo-full/convnext (run tools/make_zoo_fixtures_convnext.py --full .build-zoo-full/convnext)")
        }
        for name in ConvNeXtConfig.named.keys.sorted() {
            guard FileManager.default.fileExists(atPath: "\(folder)/\(name)_logits.npy") else { continue }
            let net = ConvNeXt(ConvNeXtConfig.named[name]!)
            try net.loadCheckpoint("\(folder)/\(name).pth")
            let x = try NpyArray(contentsOfFile: "\(folder)/\(name)_input.npy")
            let want = try NpyArray(contentsOfFile: "\(folder)/\(name)_logits.npy")
            net.prepareInference()
            let got = try net(try Tensor(shape: x.shape, values: x.values)).values
            print("\(name): max |Δlogit| \(zip(got, want.values).map { abs($0 - $1) }.max() ?? 0)")
            Self.assertClose(got, want.values, atol: 1e-4, rtol: 1e-4, name)
        }
    }
}

/// A tracer that records nothing: a traced module runs its plain forward, never a fused kernel.
private final class SilentTracer: ForwardTracer {
    func willRun(_ module: Module, input: Tensor) {}
    func didRun(_ module: Module, input: Tensor, output: Tensor) {}
}
