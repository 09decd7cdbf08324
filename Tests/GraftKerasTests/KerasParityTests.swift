import Foundation
import GraftCore
import GraftModels
import GraftStore
import GraftTensor
import GraftModelsTestSupport
import GraftTestSupport
import XCTest

/// The Keras miniatures (built with Keras' own ResNet / EfficientNet builders and VGG16's layer names)
/// give Keras' logits to 1e-4 on Graft's Keras-architecture graphs, from both HDF5 layouts.
final class KerasParityTests: XCTestCase {
    struct Manifest: Decodable {
        struct Arrays: Decodable { let input_nchw: String; let logits: String }
        struct Model: Decodable { let arrays: Arrays }
        let models: [String: Model]
    }

    /// The architectures the manifest's configurations describe (see Fixtures/keras/README.md).
    static let specs = KerasMiniatures.specs

    func testMiniaturesMatchKerasInBothLayouts() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("keras/manifest.json")))
        let manifest = try JSONDecoder().decode(Manifest.self, from: data)
        var checked = 0
        for (name, entry) in manifest.models.sorted(by: { $0.key < $1.key }) {
            let spec = try XCTUnwrap(Self.specs[name], name)
            let input = try NpyArray(contentsOfFile: TestPaths.fixture("keras/\(entry.arrays.input_nchw)"))
            let want = try NpyArray(contentsOfFile: TestPaths.fixture("keras/\(entry.arrays.logits)"))
            for file in ["\(name).h5", "\(name).weights.h5", "\(name).tf2.h5"] {
                let path = TestPaths.fixture("keras/\(file)")
                guard FileManager.default.fileExists(atPath: path) else { continue }
                let store = try WeightStore.open(path)
                var options = LoadOptions()
                options.spec = spec
                let model = try ModelLoader.load(arch: name, store: store, options: options).model
                let got = try model.logits(try Tensor(shape: input.shape, values: input.values))
                // numpy.allclose(atol=1e-4, rtol=1e-4), as `graft verify`: the EfficientNet's logits reach ±24.
                let v = try Verification(output: got.values, shape: got.shape, reference: want.values, referenceShape: want.shape,
                                         atol: 1e-4, rtol: 1e-4)
                print("\(file): \(v.summary), max |logit| \(want.values.map(abs).max() ?? 0)")
                XCTAssertTrue(v.withinTolerance, "\(file): \(v.summary)")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 6)
    }
}
