import GraftKeras
import XCTest

/// Structures the miniatures do not have: a model used as a layer of another, and a Keras 3 file
/// that does not record layer names (written by Keras 3 before it added the `name` attribute).
final class KerasStructureTests: XCTestCase {
    private func structure(_ name: String) throws -> KerasManifest.Structure {
        try XCTUnwrap(KerasManifest.load().structures?[name])
    }

    func testNestedModelLayersAreNamedOuterSlashInnerInBothLayouts() throws {
        let nested = try structure("nested")
        XCTAssertEqual(Set(nested.tensors.keys), ["d2/kernel", "d2/bias", "inner/d1/kernel", "inner/d1/bias"])
        for file in nested.files {
            let weights = try KerasWeights.read(path: kerasFixture(file))
            XCTAssertEqual(Set(weights.tensors.map(\.name)), Set(nested.tensors.keys), file)
            for (name, lazy) in weights.tensors {
                let tensor = try lazy.load()
                XCTAssertEqual(tensor.shape, nested.tensors[name]?.shape, "\(file): \(name)")
                XCTAssertEqual(canonicalDigest(tensor), nested.tensors[name]?.sha256, "\(file): \(name)")
            }
            let inner = try XCTUnwrap(weights.layer(named: "inner/d1"), file)
            XCTAssertEqual(inner.className, "Dense", file)
        }
        let v3 = try KerasWeights.read(path: kerasFixture("nested.weights.h5"))
        XCTAssertEqual(v3.layer(named: "inner/d1")?.fileKey, "functional/layers/dense")
        XCTAssertEqual(v3.layer(named: "d2")?.fileKey, "dense")
        XCTAssertEqual(v3.layer(named: "d2")?.classIndex, 0, "counters are per container")
    }

    func testKeras3FileWithoutNamesListsLayersByClassAndIndex() throws {
        let unnamed = try structure("unnamed")
        let keys = try XCTUnwrap(unnamed.file_keys)
        let weights = try KerasWeights.read(path: kerasFixture("unnamed.weights.h5"))
        XCTAssertFalse(weights.hasLayerNames)
        XCTAssertTrue(weights.notes.contains { $0.contains("does not record layer names") })
        XCTAssertEqual(
            weights.layers.map(\.name), ["batch_normalization", "conv2d", "conv2d_1", "dense", "depthwise_conv2d"])
        XCTAssertEqual(weights.layers.map(\.classIndex), [0, 0, 1, 0, 0])
        XCTAssertEqual(
            weights.layers.map(\.className),
            ["BatchNormalization", "Conv2D", "Conv2D", "Dense", "DepthwiseConv2D"])
        // The same tensors as the named model, under the file keys a graph maps by class and index.
        XCTAssertEqual(weights.tensors.count, unnamed.tensors.count)
        for (name, expected) in unnamed.tensors {
            let parts = name.split(separator: "/").map(String.init)
            let key = try XCTUnwrap(keys[parts[0]], name)
            let layer = try XCTUnwrap(weights.layer(named: key), key)
            let tensor = try XCTUnwrap(layer.weight(parts[1]), name).tensor.load()
            XCTAssertEqual(tensor.shape, expected.shape, name)
            XCTAssertEqual(canonicalDigest(tensor), expected.sha256, name)
        }
    }
}
