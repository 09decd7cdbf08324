import ArgumentParser
import Foundation
import Graft

extension DTypePolicy: ExpressibleByArgument {}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert any supported weight file into a Graft store (safetensors with provenance).")

    @Argument(help: "The input checkpoint.")
    var input: String

    @Argument(help: "The output .safetensors store.")
    var output: String

    @Option(help: "Record the architecture (zoo name, e.g. resnet50) in the store.")
    var arch: String?

    @Option(help: "Record the weight version (e.g. ResNet50_Weights.IMAGENET1K_V2 or IMAGENET1K_V2).")
    var weights: String?

    @Option(help: "keep: every dtype as stored; float32: widen float16/bfloat16/float64 to float32.")
    var dtype: DTypePolicy = .keep

    @OptionGroup var open: OpenOptions

    func run() throws {
        let store = try reportingErrors(file: input) { try WeightStore.open(input, options: open.storeOptions) }
        for w in store.warnings { printError("graft: warning: \(input.escapedForTerminal): \(w)") }
        if let arch { store.metadata.arch = arch }
        if let weights { store.metadata.weights = weights }
        let summary = try reportingErrors(file: input) { try store.writeSafetensors(to: output, dtype: dtype) }
        let mb = Double(summary.bytes) / 1_000_000
        var line = "converted \(input.escapedForTerminal) (\(store.format.rawValue)) -> \(output.escapedForTerminal): "
        line += "\(summary.tensors) tensors, \(String(format: "%.1f", mb)) MB"
        if summary.converted > 0 { line += ", \(summary.converted) widened to float32" }
        if let sha = store.metadata.sourceSHA256 { line += ", source sha256 \(sha.prefix(12))…" }
        print(line)
    }
}
