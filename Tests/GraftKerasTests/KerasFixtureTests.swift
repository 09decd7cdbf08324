import GraftCore
import GraftKeras
import XCTest

/// The miniature ResNet, EfficientNet and VGG written by `tools/make_keras_fixtures.py` with Keras
/// 3.15.1, read from every layout they were saved in: names, shapes, dtypes and the sha256 of each
/// canonical tensor must match what Python recorded, and all layouts of one model must agree.
final class KerasFixtureTests: XCTestCase {
    private static let models = ["resnet_mini", "efficientnet_mini", "vgg_mini"]

    /// Layer name → class for the depthwise layers of a model (what a graph builder would pass).
    private func depthwiseHints(_ model: KerasManifest.Model) -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: model.layerList.filter { $0.class == "DepthwiseConv2D" }
                .map { ($0.name, "DepthwiseConv2D") })
    }

    private func read(_ file: String, _ model: KerasManifest.Model) throws -> KerasWeights {
        try KerasWeights.read(
            path: kerasFixture(file), options: KerasImportOptions(classHints: depthwiseHints(model)))
    }

    func testEveryFixtureMatchesThePythonManifest() throws {
        let manifest = try KerasManifest.load()
        XCTAssertEqual(manifest.versions["keras"], "3.15.1")
        XCTAssertEqual(Set(manifest.models.keys), Set(Self.models))
        for name in Self.models {
            let model = try XCTUnwrap(manifest.models[name])
            XCTAssertGreaterThanOrEqual(model.files.count, 2, name)
            for (kind, file) in model.files {
                let weights = try read(file, model)
                XCTAssertEqual(weights.layout, kind == "keras_v3" ? .kerasV3 : .legacyH5, file)
                XCTAssertTrue(weights.hasLayerNames, file)
                try assertMatchesManifest(weights, model, file)
            }
        }
    }

    func testAllLayoutsOfOneModelGiveIdenticalCanonicalTensors() throws {
        let manifest = try KerasManifest.load()
        for name in Self.models {
            let model = try XCTUnwrap(manifest.models[name])
            let reference = try loadAll(read(model.files["keras_v3"] ?? "", model))
            for (kind, file) in model.files where kind != "keras_v3" {
                let other = try loadAll(read(file, model))
                XCTAssertEqual(Set(other.keys), Set(reference.keys), file)
                for (tensorName, tensor) in reference {
                    guard let same = other[tensorName] else { continue }
                    XCTAssertEqual(same.shape, tensor.shape, "\(file): \(tensorName)")
                    XCTAssertEqual(same.floatValues(), tensor.floatValues(), "\(file): \(tensorName)")
                }
            }
        }
    }

    func testLegacyLayersFollowTheModelOrderAndCarryVersions() throws {
        let manifest = try KerasManifest.load()
        let model = try XCTUnwrap(manifest.models["resnet_mini"])
        let weights = try read("resnet_mini.h5", model)
        let expectedOrder = model.layerList.filter { !($0.weights ?? []).isEmpty }.map(\.name)
        XCTAssertEqual(weights.layers.map(\.name), expectedOrder)
        XCTAssertEqual(weights.kerasVersion, "3.15.1")
        XCTAssertEqual(weights.backend, "torch")
        let tf2 = try read("resnet_mini.tf2.h5", model)
        XCTAssertEqual(tf2.layers.map(\.name), expectedOrder, "layer_names0 + layer_names1")
        XCTAssertEqual(tf2.kerasVersion, "2.12.0")
        XCTAssertEqual(tf2.backend, "tensorflow")
        XCTAssertEqual(tf2.layers.first?.weights.first?.storedName, "conv1_conv/kernel:0")
    }

    func testKerasV3PerClassIndexFollowsTheModelOrder() throws {
        let manifest = try KerasManifest.load()
        let model = try XCTUnwrap(manifest.models["efficientnet_mini"])
        let weights = try read("efficientnet_mini.weights.h5", model)
        for className in ["Conv2D", "DepthwiseConv2D", "BatchNormalization", "Dense", "Normalization"] {
            let inModelOrder = model.layerList.filter { $0.class == className && !($0.weights ?? []).isEmpty }
                .map(\.name)
            let fromFile = weights.layers.filter { $0.className == className }
            XCTAssertEqual(fromFile.map(\.name), inModelOrder, className)
            XCTAssertTrue(fromFile.allSatisfy { $0.classSource == .fileKey }, className)
        }
        let conv = try XCTUnwrap(weights.layer(named: "stem_conv"))
        XCTAssertEqual(conv.fileKey, "conv2d")
        XCTAssertEqual(conv.classIndex, 0)
        let projection = try XCTUnwrap(weights.layer(named: "block1a_project_conv"))
        XCTAssertEqual(projection.fileKey, "conv2d_3", "stem, se_reduce, se_expand come first")
        XCTAssertEqual(projection.classIndex, 3)
        XCTAssertEqual(
            weights.layer(named: "normalization")?.weights.map(\.name), ["mean", "variance", "count"])
        XCTAssertTrue(weights.notes.contains { $0.contains("order across classes") })
    }

    func testLayoutChangesAreListedOncePerKernel() throws {
        let manifest = try KerasManifest.load()
        let model = try XCTUnwrap(manifest.models["efficientnet_mini"])
        let weights = try read("efficientnet_mini.weights.h5", model)
        let changes = weights.layoutChanges
        let kernels = model.tensors.filter { $0.value.shape != $0.value.stored_shape }
        XCTAssertEqual(changes.count, kernels.count)
        XCTAssertEqual(Set(changes.map(\.tensor)), Set(kernels.keys))
        let stem = try XCTUnwrap(changes.first { $0.tensor == "stem_conv/kernel" })
        XCTAssertEqual(stem.kind, .convToOIHW)
        XCTAssertEqual(
            stem.description, "stem_conv/kernel: conv kernel HWIO → OIHW [3, 3, 3, 8] → [8, 3, 3, 3]")
        let dw = try XCTUnwrap(changes.first { $0.tensor == "block6b_dwconv/depthwise_kernel" })
        XCTAssertEqual(dw.from, [5, 5, 144, 1])
        XCTAssertEqual(dw.to, [144, 1, 5, 5])
        XCTAssertEqual(changes.first { $0.tensor == "predictions/kernel" }?.kind, .denseToOutIn)
        let summary = weights.layoutChangeSummary
        XCTAssertEqual(summary.count, 3)
        XCTAssertTrue(summary.contains("dense kernel (in, out) → (out, in): 1 tensor"), "\(summary)")
        // BN and bias are unchanged: the converted view is the raw tensor itself.
        let bn = try XCTUnwrap(weights.layer(named: "stem_bn")?.weight("moving_variance"))
        XCTAssertNil(bn.layoutChange)
        XCTAssertEqual(try bn.tensor.load().floatValues(), try bn.raw.load().floatValues())
    }

    func testKeras3LegacyDepthwiseKernelsNeedTheConfigOrAHint() throws {
        let manifest = try KerasManifest.load()
        let model = try XCTUnwrap(manifest.models["efficientnet_mini"])
        // Weights only, no hint: the 4-D `kernel` of block1a_dwconv looks like a Conv2D's.
        let guessed = try KerasWeights.read(path: kerasFixture("efficientnet_mini.h5"))
        let layer = try XCTUnwrap(guessed.layer(named: "block1a_dwconv"))
        XCTAssertEqual(layer.className, "Conv2D")
        XCTAssertEqual(layer.classSource, .kernelRank)
        XCTAssertEqual(
            guessed.notes.filter { $0.contains("guessed from the kernel rank") }.count, 1, "one note")
        // With depth multiplier 1 the guessed OIHW bytes equal the depthwise layout; only the shape differs.
        let asConv = try XCTUnwrap(layer.weight("kernel")).tensor.load()
        XCTAssertEqual(asConv.shape, [1, 8, 3, 3])
        XCTAssertEqual(canonicalDigest(asConv), model.tensors["block1a_dwconv/depthwise_kernel"]?.sha256)
        // The full-model file names the class in its model_config.
        let full = try KerasWeights.read(path: kerasFixture("efficientnet_mini.full.h5"))
        XCTAssertEqual(full.layer(named: "block1a_dwconv")?.className, "DepthwiseConv2D")
        XCTAssertEqual(full.layer(named: "block1a_dwconv")?.classSource, .modelConfig)
        // tf.keras 2 files say `depthwise_kernel:0`.
        let tf2 = try KerasWeights.read(path: kerasFixture("efficientnet_mini.tf2.h5"))
        XCTAssertEqual(tf2.layer(named: "block1a_dwconv")?.classSource, .weightNames)
        XCTAssertEqual(
            tf2.layer(named: "stem_conv")?.classSource, .weightNames, "TF names: a 4-D kernel is a Conv2D")
        XCTAssertFalse(tf2.notes.contains { $0.contains("guessed") })
        XCTAssertEqual(
            tf2.layer(named: "block1a_dwconv")?.weights.first?.storedName,
            "block1a_dwconv/depthwise_kernel:0")
    }

    func testInputsAndLogitsArePresentAndConsistent() throws {
        let manifest = try KerasManifest.load()
        for name in Self.models {
            let model = try XCTUnwrap(manifest.models[name])
            let nhwc = try NpyArray(
                contentsOfFile: kerasFixture(try XCTUnwrap(model.arrays["input_nhwc"] ?? nil)))
            let nchw = try NpyArray(
                contentsOfFile: kerasFixture(try XCTUnwrap(model.arrays["input_nchw"] ?? nil)))
            let logits = try NpyArray(
                contentsOfFile: kerasFixture(try XCTUnwrap(model.arrays["logits"] ?? nil)))
            XCTAssertEqual(logits.shape, [2, 10], name)
            let (n, h, w, c) = (nhwc.shape[0], nhwc.shape[1], nhwc.shape[2], nhwc.shape[3])
            XCTAssertEqual(nchw.shape, [n, c, h, w], name)
            for (b, y, x, ch) in [(0, 0, 0, 0), (1, h - 1, 2, 1), (1, 3, w - 1, 2)] {
                XCTAssertEqual(
                    nhwc.values[((b * h + y) * w + x) * c + ch], nchw.values[((b * c + ch) * h + y) * w + x])
            }
        }
    }
}
