import Foundation
import GraftKeras
import GraftModels
import GraftStore
import GraftTestSupport
import XCTest

/// Full-size random-init ResNet50, VGG16 and EfficientNetB0 written by
/// `tools/make_keras_fixtures.py --full` into `.build-keras-full/` (about 1.4 GB, never committed):
/// every canonical tensor in both layouts must match Python's sha256. Skipped when the folder is
/// absent, which is the normal case.
final class FullSizeKerasTests: XCTestCase {
    func testFullSizeModelsMatchTheirManifest() throws {
        let folder = TestPaths.root.appendingPathComponent(".build-keras-full")
        let manifestPath = folder.appendingPathComponent("manifest.json").path
        guard FileManager.default.fileExists(atPath: manifestPath) else {
            throw XCTSkip("no .build-keras-full/ (run tools/make_keras_fixtures.py --full)")
        }
        let manifest = try KerasManifest.load(manifestPath)
        XCTAssertEqual(Set(manifest.models.keys), ["resnet50", "vgg16", "efficientnetb0"])
        for (name, model) in manifest.models {
            // The Keras 3 legacy writer calls a depthwise kernel `kernel`: name the classes as a
            // graph builder would (every `*dwconv` layer of EfficientNet is a DepthwiseConv2D).
            let hints = Dictionary(
                uniqueKeysWithValues: model.tensors.filter { $0.value.class == "DepthwiseConv2D" }
                    .map { (String($0.key.split(separator: "/")[0]), "DepthwiseConv2D") })
            for (kind, file) in model.files {
                let start = Date()
                let weights = try KerasWeights.read(
                    path: folder.appendingPathComponent(file).path,
                    options: KerasImportOptions(classHints: hints))
                XCTAssertEqual(weights.layout, kind == "keras_v3" ? .kerasV3 : .legacyH5, file)
                try assertMatchesManifest(weights, model, file)
                print(
                    "\(name) \(file): \(weights.tensors.count) tensors read, converted and hashed in "
                        + String(format: "%.2f s", Date().timeIntervalSince(start)))
            }
        }
    }

    /// Keras layer names are detected as the `keras.applications` builder that has exactly these
    /// weights, in both file layouts (Keras 3 `.weights.h5` and the legacy `.h5`).
    func testFullSizeKerasFilesAreDetected() throws {
        let folder = TestPaths.root.appendingPathComponent(".build-keras-full")
        let manifestPath = folder.appendingPathComponent("manifest.json").path
        guard FileManager.default.fileExists(atPath: manifestPath) else {
            throw XCTSkip("no .build-keras-full/ (run tools/make_keras_fixtures.py --full)")
        }
        let expected = ["resnet50": "ResNet50", "vgg16": "VGG16", "efficientnetb0": "EfficientNetB0"]
        for (name, model) in try KerasManifest.load(manifestPath).models.sorted(by: { $0.key < $1.key }) {
            for file in model.files.values.sorted() {
                let store = try WeightStore.open(folder.appendingPathComponent(file).path)
                let found = try ArchitectureDetection.detect(store.entries.map { (name: $0.name, tensor: $0.tensor) })
                XCTAssertEqual(found.arch, expected[name], file)
                XCTAssertEqual(found.scheme, NamingScheme.keras, file)
            }
        }
    }
}
