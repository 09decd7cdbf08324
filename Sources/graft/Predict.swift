import ArgumentParser
import Foundation
import Graft

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images with a checkpoint, using the exact preprocessing of its weights.")

    @OptionGroup var model: ModelOptions

    @Option(help: "Weights whose preprocessing and classes to use (ResNet50_Weights.IMAGENET1K_V2, IMAGENET1K_V1, DEFAULT).")
    var weights: String?

    @Argument(help: "JPEG or PNG images.") var images: [String]

    @Option(help: "How many classes to show per image.") var top = 5

    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Test-time augmentation: flip (the crop and its mirror) or ten-crop (torchvision's TenCrop); probabilities are averaged.")
    var tta: TTAMode?
    @Option(help: InferenceEngineChoice.help) var engine: InferenceEngineChoice = .auto

    /// Below this many images, timing both engines would cost more forward passes than it saves.
    static let imagesWorthTiming = 16

    struct Prediction: Encodable { let index: Int; let label: String; let probability: Float }
    struct Result: Encodable { let image: String; let predictions: [Prediction] }

    func run() throws {
        let (store, loaded, arch) = try reportingErrors(file: model.checkpoint) { try model.load() }
        let choice = try reportingErrors(file: model.checkpoint) {
            try PreprocessingChoice.resolve(weights: weights, arch: arch, store: store)
        }
        let runner = try reportingErrors(file: model.checkpoint) { try InferenceRunner(model: loaded.model, engine: engine, timed: images.count >= Self.imagesWorthTiming) }
        var results: [Result] = []
        for path in images {
            let views = try reportingErrors(file: path) { () throws -> [ImageTensor] in
                let image = try ImageDecoder.decode(path: path)
                return try tta.map { try choice.pipeline.views(image, $0) } ?? [choice.pipeline.evaluate(image)]
            }
            let probs = try reportingErrors(file: path) { () throws -> [Float] in
                let batch = try Tensor(shape: [views.count] + views[0].shape, values: views.flatMap(\.values))
                return try meanOfRows(softmax(runner.logits(batch)))
            }
            let best = TopK.indices(probs, k: min(top, probs.count))
            let names = choice.classes.flatMap { $0.count == probs.count ? $0 : nil }
            results.append(Result(image: path, predictions: best.map {
                Prediction(index: $0, label: names?[$0] ?? "class \($0)", probability: probs[$0])
            }))
        }
        if json { return try printJSON(results) }
        print("\(arch) — preprocessing: \(choice.source) (\(choice.pipeline.summary)); engine: \(runner.engineName) (\(runner.choiceReason))")
        for r in results {
            print(r.image)
            for p in r.predictions { print(String(format: "  %6.2f%%  %@ (%d)", p.probability * 100, p.label, p.index)) }
        }
    }
}

struct Preprocess: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the exact float32 CHW tensor that predict feeds for an image (.npy).")

    @Option(help: "Weights whose eval preset to apply (ResNet50_Weights.IMAGENET1K_V2, or IMAGENET1K_V2 with --arch).")
    var weights: String?

    @Option(help: "Architecture, for short weight names or a Keras application (ResNet50, EfficientNetB0: load_img + preprocess_input).")
    var arch: String?

    /// Only the metadata is read: no source hash.
    static var readOnly: StoreOpenOptions { var o = StoreOpenOptions(); o.hashSource = false; return o }

    @Option(help: "A checkpoint whose recorded preprocessing to apply (a store, or a timm folder's pretrained_cfg).")
    var checkpoint: String?

    @Argument(help: "A JPEG or PNG image.") var image: String

    @Option(help: "Output .npy file.") var output: String

    func run() throws {
        guard weights != nil || arch != nil || checkpoint != nil else { throw ValidationError("give --weights, --arch or --checkpoint") }
        let store = try checkpoint.map { path in try reportingErrors(file: path) { try WeightStore.openCheckpoint(path, options: Self.readOnly) } }
        let choice = try reportingErrors(file: weights ?? arch ?? checkpoint ?? "") {
            try PreprocessingChoice.resolve(weights: weights, arch: arch ?? store?.metadata.arch, store: store)
        }
        let t = try reportingErrors(file: image) { try choice.pipeline.evaluate(try ImageDecoder.decode(path: image)) }
        try reportingErrors(file: output) { try NpyArray(shape: t.shape, values: t.values).write(toFile: output) }
        print("\(image) -> \(output): \(t.shape) with \(choice.source)'s preprocessing")
    }
}
