import ArgumentParser
import Foundation
import Graft

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a store (or any supported input) as a PyTorch zip checkpoint or a timm hub folder.",
        discussion: "pth: loads with torch.load(path, weights_only=True) as a dict of tensors equal to the source. "
            + "timm: OUTPUT is a folder (model.safetensors in timm's key names + config.json) that "
            + "timm.create_model(\"local-dir:\" + OUTPUT, pretrained=True) loads.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case pth, timm }

    @Argument(help: "A store or any supported checkpoint.")
    var input: String

    @Argument(help: "The output .pth file (a folder for --format timm).")
    var output: String

    @Option(help: "pth (a torch zip checkpoint) or timm (a timm hub folder).")
    var format: Format = .pth

    @OptionGroup var open: OpenOptions

    func run() throws {
        let store = try reportingErrors(file: input) { try open.open(input, hashSource: false) }
        if format == .timm {
            let s = try reportingErrors(file: input) { try TimmExport.write(store, to: output) }
            print("exported \(input.escapedForTerminal) -> \(output.escapedForTerminal): timm \(s.architecture), "
                  + "\(s.numClasses) classes, \(s.tensors) tensors, \(s.bytes.grouped) bytes")
            return
        }
        try reportingErrors(file: input) { try store.exportTorch(to: output) }
        print("exported \(input.escapedForTerminal) -> \(output.escapedForTerminal): \(store.entries.count) tensors, "
              + "\(store.totalBytes.grouped) bytes")
    }
}
