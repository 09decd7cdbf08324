import ArgumentParser
import Foundation
import Graft

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Grad-CAM: which parts of a photo raised a class's score, drawn over the photo.",
        discussion: """
            The photo goes through the weights' own evaluation preprocessing; the map is Grad-CAM's \
            ReLU(Σ_c α_c·A_c), α_c the spatial mean of ∂logit/∂A_c, at the last feature map before global \
            pooling (the module `graft summary` names) unless --layer gives another module path. The overlay \
            blends the map (jet colours, upsampled bilinearly) half and half with the preprocessed crop.
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Weights whose preprocessing and class names to use (as predict).") var weights: String?
    @Argument(help: "A JPEG or PNG image.") var image: String
    @Option(name: .customLong("class"), help: "Class to explain: an index or a class name (default: the top class).")
    var classChoice: String?
    @Option(help: "Module path whose output to explain (default: the last feature map).") var layer: String?
    @Option(help: "Overlay PNG to write.") var output: String
    @Option(help: "Also write the map at feature-map resolution, normalized to max 1 (.npy, float32 [H, W]).")
    var map: String?
    @Flag(help: "Print JSON (class, label, probability, layer, map size).") var json = false

    struct Report: Encodable {
        let image: String, layer: String, class_index: Int, label: String
        let logit: Float, probability: Float, map_shape: [Int], overlay: String, map: String?
    }

    func run() throws {
        let (store, loaded, arch) = try reportingErrors(file: model.checkpoint) { try model.load() }
        let choice = try reportingErrors(file: model.checkpoint) {
            try PreprocessingChoice.resolve(weights: weights, arch: arch, store: store)
        }
        let names = choice.classes.flatMap { $0.count == loaded.model.numClasses ? $0 : nil }
        let classIndex = try classChoice.map { choice in
            try reportingErrors(file: model.checkpoint) { try Self.resolveClass(choice, names: names, count: loaded.model.numClasses) }
        }
        let (crop, input) = try reportingErrors(file: image) { () throws -> (RGBImage, Tensor) in
            let photo = try ImageDecoder.decode(path: image)
            let t = try choice.pipeline.evaluate(photo)
            return (try choice.pipeline.evaluationCrop(photo), try Tensor(shape: [1] + t.shape, values: t.values))
        }
        let cam = try reportingErrors(file: layer ?? model.checkpoint) {
            try loaded.model.gradCAM(input, classIndex: classIndex, layer: layer)
        }
        let label = names?[cam.classIndex] ?? "class \(cam.classIndex)"
        let overlay = try reportingErrors(file: image) { try GradCAMOverlay.render(cam, on: crop, className: label) }
        try reportingErrors(file: output) { try PNGWriter.write(overlay, to: output) }
        if let map {
            try reportingErrors(file: map) {
                try NpyArray(shape: [cam.height, cam.width], values: cam.map).write(toFile: map)
            }
        }
        if json {
            return try printJSON(Report(image: image, layer: cam.layer, class_index: cam.classIndex, label: label,
                                        logit: cam.logit, probability: cam.probability, map_shape: [cam.height, cam.width],
                                        overlay: output, map: map))
        }
        print("\(image): \(label) (\(cam.classIndex)), p = \(String(format: "%.4f", cam.probability)); "
              + "Grad-CAM at \(cam.layer) [\(cam.height)×\(cam.width)] -> \(output)\(map.map { " and \($0)" } ?? "")")
    }

    /// `--class`: an index, or a class name (exact, then case-insensitive).
    static func resolveClass(_ text: String, names: [String]?, count: Int) throws -> Int {
        if let index = Int(text) {
            guard (0..<count).contains(index) else { throw NNError.badArgument("--class \(index) is outside 0…\(count - 1)") }
            return index
        }
        guard let names else { throw NNError.badArgument("--class \(text): this model's classes have no names; give an index") }
        if let i = names.firstIndex(of: text) ?? names.firstIndex(where: { $0.lowercased() == text.lowercased() }) { return i }
        throw NNError.badArgument("--class \(text): no class of that name (names look like '\(names[0])')")
    }
}
