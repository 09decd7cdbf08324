import ArgumentParser
import Foundation
import Graft

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every module of a model with its output shape and parameters (trainable / frozen), as torchinfo prints them.",
        discussion: """
            Runs one forward of a zero batch. Without --checkpoint the architecture's torchvision builder is \
            used with fresh weights; with one, the checkpoint's model (architecture given, recorded or detected).
            """)

    @Option(help: "Architecture (a torchvision builder name; optional with --checkpoint).") var arch: String?
    @Option(help: "A checkpoint to summarize instead of the bare builder.") var checkpoint: String?
    @Option(help: "Input height and width (default: the DEFAULT weights' crop, else 224).") var size: Int?
    @Option(help: "Batch size.") var batch = 1
    @Flag(help: "Print JSON (total_params, trainable_params, layers).") var json = false
    @OptionGroup var open: OpenOptions

    struct Report: Encodable {
        let arch: String
        let input_shape: [Int]
        let output_shape: [Int]
        let total_params: Int
        let trainable_params: Int
        let layers: [ModuleSummaryRow]
    }

    func validate() throws {
        guard arch != nil || checkpoint != nil else { throw ValidationError("give --arch, --checkpoint or both") }
        guard (1...4096).contains(size ?? 224), (1...1024).contains(batch) else {
            throw ValidationError("--size must be 1…4096 and --batch 1…1024")
        }
    }

    func run() throws {
        let file = checkpoint ?? arch ?? ""
        let model: Model = try reportingErrors(file: file) {
            guard let checkpoint else { return try ModelLoader.random(arch: arch!) }
            let store = try open.open(checkpoint, hashSource: false)
            if let name = arch ?? store.metadata.arch { return try ModelLoader.load(arch: name, store: store).model }
            return try ModelLoader.load(store: store).model
        }
        let side = size ?? WeightsRegistry.defaultWeights(for: model.arch)?.cropSize ?? 224
        let summary = try reportingErrors(file: file) {
            try model.network.summary(try Tensor(shape: [batch, 3, side, side]))
        }
        if json {
            return try printJSON(Report(arch: model.arch, input_shape: summary.inputShape, output_shape: summary.outputShape,
                                        total_params: summary.totalParameters, trainable_params: summary.trainableParameters,
                                        layers: summary.layers))
        }
        let width = min(70, summary.layers.map { $0.path.count + 2 * $0.depth + $0.type.count + 3 }.max() ?? 20)
        print("module (type)".padding(width) + "  output shape".padding(26) + "        params")
        for row in summary.layers {
            let name = String(repeating: "  ", count: row.depth) + (row.path.isEmpty ? model.arch : row.path) + " (\(row.type))"
            let shape = row.outputShape.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" } ?? "-"
            print(name.padding(width) + "  " + shape.padding(24) + row.parameters.grouped.leftPadding(14))
        }
        print("")
        print("input \(summary.inputShape), output \(summary.outputShape)")
        print("total params: \(summary.totalParameters.grouped), trainable \(summary.trainableParameters.grouped), "
              + "frozen \((summary.totalParameters - summary.trainableParameters).grouped)")
    }
}
