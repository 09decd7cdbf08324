import ArgumentParser
import Foundation
import Graft

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a store (or any supported input) as a PyTorch zip checkpoint, a timm hub folder or an ONNX model.",
        discussion: """
            pth: loads with torch.load(path, weights_only=True) as a dict of tensors equal to the source.
            timm: OUTPUT is a folder (model.safetensors in timm's key names + config.json) that \
            timm.create_model("local-dir:" + OUTPUT, pretrained=True) loads.
            onnx: opset 17, float32, input 'input' [batch, 3, H, W] (preprocessed as its doc string says), \
            output 'logits' (or 'probabilities' for a model that ends in softmax/sigmoid); BatchNorm folded \
            into the convolutions unless --keep-batchnorm.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case pth, timm, onnx }

    @Argument(help: "A store or any supported checkpoint.")
    var input: String

    @Argument(help: "The output: a .pth file, a folder for --format timm, an .onnx file for --format onnx.")
    var output: String

    @Option(help: "pth (a torch zip checkpoint), timm (a timm hub folder) or onnx.")
    var format: Format = .pth

    @Option(help: "onnx: the architecture (default: the store's recorded one, else detected from the keys and shapes).")
    var arch: String?

    @Flag(help: "onnx: keep BatchNormalization nodes instead of folding them into the convolutions.")
    var keepBatchnorm = false

    @Option(help: "onnx: input height and width (default: the preprocessing's crop size).")
    var size: Int?

    @OptionGroup var open: OpenOptions

    func validate() throws {
        if format != .onnx && (arch != nil || keepBatchnorm || size != nil) {
            throw ValidationError("--arch, --keep-batchnorm and --size apply to --format onnx")
        }
    }

    func run() throws {
        let store = try reportingErrors(file: input) { try open.open(input, hashSource: false) }
        switch format {
        case .pth:
            try reportingErrors(file: input) { try store.exportTorch(to: output) }
            print("exported \(input.escapedForTerminal) -> \(output.escapedForTerminal): \(store.entries.count) tensors, "
                  + "\(store.totalBytes.grouped) bytes")
        case .timm:
            let s = try reportingErrors(file: input) { try TimmExport.write(store, to: output) }
            print("exported \(input.escapedForTerminal) -> \(output.escapedForTerminal): timm \(s.architecture), "
                  + "\(s.numClasses) classes, \(s.tensors) tensors, \(s.bytes.grouped) bytes")
        case .onnx:
            let r = try reportingErrors(file: input) {
                try ONNXStoreExport.write(store: store, arch: arch, to: output, keepBatchNorm: keepBatchnorm, size: size)
            }
            print("exported \(input.escapedForTerminal) -> \(output.escapedForTerminal): ONNX opset \(ONNXExporter.opsetVersion), "
                  + "\(r.arch.escapedForTerminal), input '\(r.export.inputName)' [batch, 3, \(r.height), \(r.width)], "
                  + "output '\(r.export.outputName)', \(r.export.nodeCount) nodes, \(r.export.data.count.grouped) bytes "
                  + "(weights \((r.weightElements * 4).grouped) bytes), BatchNorm \(keepBatchnorm ? "kept" : "folded")")
            print("input preprocessing: \(r.preprocessing.escapedForTerminal)")
        }
    }
}
