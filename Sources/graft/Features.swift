import ArgumentParser
import Foundation
import Graft

struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a module's output for an input batch or images (.npy): intermediate features or the embedding.",
        discussion: """
            --layer takes a module path of the model (layer3, features.6, layer4.1.bn2) — also in the \
            checkpoint's own naming (efficientnet_pytorch _blocks.12, timm blocks.5) — or `pool`, the pooled \
            and flattened embedding the classifier sees. Images are preprocessed as predict does.
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "NCHW float32 input (.npy), preprocessed.") var input: String?

    @Option(help: "Weights whose preprocessing to use for images (ResNet50_Weights.IMAGENET1K_V2, IMAGENET1K_V1, DEFAULT).")
    var weights: String?

    @Argument(help: "JPEG or PNG images (instead of --input).") var images: [String] = []

    @Option(help: "Module path, or pool.") var layer: String

    @Option(help: "Output .npy file (float32, batch first).") var output: String

    @Option(help: "Engine of --layer pool (other layers run on Graft's kernels): auto (XNNPACK where it covers the network, except VGG and ConvNeXt), graft or xnnpack.")
    var engine: InferenceEngineChoice = .auto

    func validate() throws {
        guard (input == nil) != images.isEmpty else { throw ValidationError("give --input X.npy or images, not both") }
    }

    func run() throws {
        let (store, loaded, arch) = try reportingErrors(file: model.checkpoint) { try model.load() }
        let path = layer == Model.pooledFeaturesPath ? layer
            : try reportingErrors(file: model.checkpoint) { try loaded.modulePath(for: layer) }
        let x: Tensor
        if let input {
            x = try reportingErrors(file: input) {
                let a = try NpyArray(contentsOfFile: input)
                return try Tensor(shape: a.shape, values: a.values)
            }
        } else {
            let choice = try reportingErrors(file: model.checkpoint) {
                try PreprocessingChoice.resolve(weights: weights, arch: arch, store: store)
            }
            var values: [Float] = []
            var shape: [Int] = []
            for image in images {
                let t = try reportingErrors(file: image) { try choice.pipeline.evaluate(try ImageDecoder.decode(path: image)) }
                shape = t.shape
                values += t.values
            }
            x = try Tensor(shape: [images.count] + shape, values: values)
        }
        let y = try reportingErrors(file: input ?? images[0]) { try loaded.model.observed(x, at: path, engine: engine) }
        try reportingErrors(file: output) { try NpyArray(shape: y.shape, values: y.values).write(toFile: output) }
        print("\(arch) \(path)\(path == layer ? "" : " (\(layer))"): \(y.shape) -> \(output)")
    }
}
