import Foundation
import GraftCore
import GraftModels
import GraftNN
import GraftTensor
import XCTest

/// One training-mode forward and backward of each family's miniature gives PyTorch's loss, logits,
/// every parameter's gradient and the updated BatchNorm statistics.
final class GradientParityTests: XCTestCase {
    func testEveryFamilyMatchesPyTorchGradients() throws {
        let manifest = try TrainManifest.load()
        for (name, g) in manifest.gradients.sorted(by: { $0.key < $1.key }) {
            let ref = try TrainFixtures.tensors(g.file)
            let model = try TrainFixtures.model(g.model, checkpoint: g.checkpoint)
            model.setTraining(true)
            model.prepareBackward()
            let input = try TrainFixtures.tensor(try XCTUnwrap(ref["input"]))
            let labels = TrainFixtures.labels(try XCTUnwrap(ref["labels"]))
            let logits = try model.forward(input)
            let (loss, grad) = try crossEntropy(logits: logits, targets: labels, labelSmoothing: Float(g.label_smoothing))
            for p in model.parameters { p.grad = nil }
            try model.backward(grad)

            let refLoss = try XCTUnwrap(ref["loss"]).floatValues()[0]
            XCTAssertEqual(loss, refLoss, accuracy: 1e-5 * max(1, abs(refLoss)), "\(name): loss")
            TrainFixtures.assertClose(logits.values, try XCTUnwrap(ref["logits"]).floatValues(), atol: 1e-5, rtol: 2e-5, "\(name): logits")
            var checked = 0
            for (key, p) in model.namedParameters() where p.kind != .buffer {
                let want = try XCTUnwrap(ref["grad.\(key)"], "\(name): no reference gradient for \(key)").floatValues()
                let got = try XCTUnwrap(p.grad, "\(name): no gradient for \(key)").values
                if g.zero_gradient.contains(key) {
                    // Zero in exact arithmetic (a bias right before BatchNorm): both sides are rounding noise.
                    TrainFixtures.assertClose(got, want, atol: 1e-4, rtol: 0, "\(name): \(key)")
                } else {
                    TrainFixtures.assertClose(got, want, atol: 1e-6, rtol: 2e-4, "\(name): \(key)")
                }
                checked += 1
            }
            for (key, p) in model.namedParameters() where p.kind == .buffer {
                guard let want = ref["after.\(key)"] else { continue }
                TrainFixtures.assertClose(p.value.values, want.floatValues(), atol: 1e-6, rtol: 2e-5, "\(name): \(key) after")
            }
            for (key, entry) in model.network.namedStateEntries() {
                guard case .counter(let c) = entry, let want = ref["after.\(key)"] else { continue }
                XCTAssertEqual(Float(c.value), want.floatValues()[0], "\(name): \(key)")
            }
            XCTAssertGreaterThan(checked, 20, name)
            print("\(name): \(checked) gradients match, loss \(loss) vs \(refLoss)")
        }
    }
}
