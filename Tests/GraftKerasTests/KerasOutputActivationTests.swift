import Foundation
import GraftCore
import GraftKeras
import GraftModels
import GraftStore
import GraftTensor
import GraftTestSupport
import XCTest

/// `keras.applications` models end in their classifier activation, so what a Keras user saves with
/// `model.predict` is probabilities: Graft's Keras models give the same outputs (`Model.outputs`),
/// the activation read from the file's model config, softmax (Keras' default) when the file has none.
final class KerasOutputActivationTests: XCTestCase {
    func testTheConfigsPredictionsActivationIsRead() {
        func config(_ activation: String) -> String {
            """
            {"class_name": "Functional", "config": {"name": "m", "layers": [
              {"class_name": "Conv2D", "config": {"name": "conv", "activation": "relu"}},
              {"class_name": "Dense", "config": {"name": "predictions", "units": 10, \(activation)}}]}}
            """
        }
        XCTAssertEqual(KerasWeights.classifierActivation(inModelConfig: config(#""activation": "softmax""#)), "softmax")
        XCTAssertEqual(KerasWeights.classifierActivation(inModelConfig: config(#""activation": "linear""#)), "linear")
        XCTAssertEqual(KerasWeights.classifierActivation(inModelConfig: config(#""activation": null"#)), "linear")
        XCTAssertEqual(KerasWeights.classifierActivation(inModelConfig: config(#""activation": {"class_name": "Custom"}"#)),
                       "(a serialized object)")
        // No classifier named as keras.applications names it, or unreadable JSON: nothing is claimed.
        XCTAssertNil(KerasWeights.classifierActivation(inModelConfig: #"{"class_name": "Dense", "config": {"name": "fc"}}"#))
        XCTAssertNil(KerasWeights.classifierActivation(inModelConfig: "{not json"))
        // Two `predictions` layers (nested models) that disagree decide nothing.
        let two = #"[{"class_name": "Dense", "config": {"name": "predictions", "activation": "softmax"}},"#
            + #"{"class_name": "Dense", "config": {"name": "predictions", "activation": "sigmoid"}}]"#
        XCTAssertNil(KerasWeights.classifierActivation(inModelConfig: two))
    }

    func testWeightsOnlyFilesTakeKerasDefaultSoftmaxAndFullModelsTheirConfig() throws {
        for file in ["resnet_mini.weights.h5", "resnet_mini.h5", "efficientnet_mini.weights.h5"] {
            let store = try WeightStore.open(TestPaths.fixture("keras/\(file)"))
            XCTAssertEqual(store.metadata.outputActivation, "softmax", file)
            XCTAssertTrue(store.metadata.notes.contains { $0.contains("softmax") }, file)
        }
        // The miniature was saved with classifier_activation=None: its config says linear.
        let full = try WeightStore.open(TestPaths.fixture("keras/efficientnet_mini.full.h5"))
        XCTAssertEqual(full.metadata.outputActivation, "linear")
        // A torch checkpoint records nothing: its outputs are its logits.
        XCTAssertNil(try WeightStore.open(TestPaths.fixture("zoo/dense/densenet_mini.pth")).metadata.outputActivation)
    }

    func testOutputsAreTheSoftmaxOfLogitsThatMatchKeras() throws {
        let name = "resnet_mini"
        let input = try NpyArray(contentsOfFile: TestPaths.fixture("keras/\(name).input_nchw.npy"))
        let want = try NpyArray(contentsOfFile: TestPaths.fixture("keras/\(name).logits.npy"))
        let store = try WeightStore.open(TestPaths.fixture("keras/\(name).weights.h5"))
        var options = LoadOptions()
        options.spec = KerasParityTests.specs[name]
        let loaded = try ModelLoader.load(arch: name, store: store, options: options)
        XCTAssertEqual(loaded.model.outputActivation, .softmax)
        XCTAssertTrue(loaded.notes.contains { $0.contains("softmax") }, "\(loaded.notes)")
        let x = try Tensor(shape: input.shape, values: input.values)
        let outputs = try loaded.model.outputs(x)
        let expected = try softmax(try Tensor(shape: want.shape, values: want.values))
        let v = try Verification(output: outputs.values, shape: outputs.shape, reference: expected.values,
                                 referenceShape: expected.shape, atol: 1e-5, rtol: 1e-4)
        XCTAssertTrue(v.withinTolerance, v.summary)
        for row in 0..<outputs.shape[0] {
            let sum = outputs.values[row * outputs.shape[1]..<(row + 1) * outputs.shape[1]].reduce(0, +)
            XCTAssertEqual(sum, 1, accuracy: 1e-5)
        }
        // The logits are unchanged.
        let logits = try loaded.model.logits(x)
        XCTAssertTrue(try Verification(output: logits.values, shape: logits.shape, reference: want.values,
                                       referenceShape: want.shape, atol: 1e-4, rtol: 1e-4).withinTolerance)
    }

    func testAnActivationGraftDoesNotApplyIsAnErrorNamingTheStoreOnlyWhenOutputsAreAsked() throws {
        var metadata = StoreMetadata()
        metadata.outputActivation = "swish_custom"
        let activation = OutputActivation(recordedIn: metadata, store: "tuned.safetensors")
        XCTAssertEqual(activation, .unsupported(name: "swish_custom", store: "tuned.safetensors"))
        XCTAssertThrowsError(try activation.apply(try Tensor(shape: [1, 2], values: [0, 1]))) { error in
            XCTAssertTrue("\(error)".contains("tuned.safetensors"), "\(error)")
            XCTAssertTrue("\(error)".contains("--logits"), "\(error)")
        }
        metadata.outputActivation = "sigmoid"
        let sigmoid = try OutputActivation(recordedIn: metadata, store: "s").apply(try Tensor(shape: [1, 1], values: [0]))
        XCTAssertEqual(sigmoid.values, [0.5])
    }
}
