import ArgumentParser
import Foundation
import Graft

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every module of a model: output shape, parameters, mult-adds, receptive field and training memory.",
        discussion: """
            Runs one forward of a zero batch. Without --checkpoint the architecture's torchvision builder is \
            used with fresh weights; with one, the checkpoint's model (architecture given, recorded or detected). \
            Parameters and mult-adds are counted as torchinfo counts them; the receptive field (RF) is the input \
            window one output value sees and the jump the stride product, in input pixels, per axis where \
            they differ (r += (k−1)·dilation·jump, the maximum where branches meet); memory is torchinfo's \
            forward/backward estimate for a training step at --batch.
            """)

    @Option(help: "Architecture (a torchvision builder name; optional with --checkpoint).") var arch: String?
    @Option(help: "A checkpoint to summarize instead of the bare builder.") var checkpoint: String?
    @Option(help: "Input height and width (default: the DEFAULT weights' crop, else 224).") var size: Int?
    @Option(help: "Batch size.") var batch = 1
    @Flag(help: "Print JSON (total_params, trainable_params, mult_adds, receptive_field, layers).") var json = false
    @OptionGroup var open: OpenOptions

    struct Report: Encodable {
        let arch: String
        let input_shape: [Int]
        let output_shape: [Int]
        let total_params: Int
        let trainable_params: Int
        let mult_adds: Int
        /// torchinfo's "Forward/backward pass size" at this batch, in bytes.
        let forward_backward_bytes: Int
        /// The last feature map before global pooling: its module and receptive field.
        let feature_map: String?
        let receptive_field: ReceptiveField?
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
                                        mult_adds: summary.multAdds, forward_backward_bytes: summary.activationBytes,
                                        feature_map: summary.featureMapPath, receptive_field: summary.featureMapField,
                                        layers: summary.layers))
        }
        let width = min(60, summary.layers.map { $0.path.count + 2 * $0.depth + $0.type.count + 3 }.max() ?? 20)
        print("module (type)".padding(width) + "  output shape".padding(22) + "        params     mult-adds  RF / jump")
        for row in summary.layers {
            let name = String(repeating: "  ", count: row.depth) + (row.path.isEmpty ? model.arch : row.path) + " (\(row.type))"
            let shape = row.outputShape.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" } ?? "-"
            print(name.padding(width) + "  " + shape.padding(20) + row.parameters.grouped.leftPadding(14)
                  + row.multAdds.grouped.leftPadding(14) + "  " + (row.receptiveField.map(Self.describe) ?? ""))
        }
        let mb = Double(summary.activationBytes) / 1e6   // torchinfo's MB
        print("")
        print("input \(summary.inputShape), output \(summary.outputShape)")
        print("total params: \(summary.totalParameters.grouped), trainable \(summary.trainableParameters.grouped), "
              + "frozen \((summary.totalParameters - summary.trainableParameters).grouped)")
        print("mult-adds: \(summary.multAdds.grouped) (\(String(format: "%.2f", Double(summary.multAdds) / 1e9)) G)")
        print("forward/backward pass size: \(String(format: "%.2f", mb)) MB at batch \(batch)")
        if let path = summary.featureMapPath, let field = summary.featureMapField {
            print("last feature map: \(path), receptive field \(Self.describe(field))")
        }
    }

    /// "435 / 32", or "299×211 / 32" when the axes differ.
    static func describe(_ f: ReceptiveField) -> String {
        let size = f.size[0] == f.size[1] ? "\(f.size[0])" : "\(f.size[0])×\(f.size[1])"
        let jump = f.jump[0] == f.jump[1] ? "\(f.jump[0])" : "\(f.jump[0])×\(f.jump[1])"
        return "\(size) / \(jump)"
    }
}
