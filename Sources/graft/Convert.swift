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

    @Option(help: "Record the architecture (zoo name, e.g. resnet50) in the store; detected from the keys when omitted.")
    var arch: String?

    @Option(help: "Record the weight version (e.g. ResNet50_Weights.IMAGENET1K_V2 or IMAGENET1K_V2).")
    var weights: String?

    @Option(help: "keep: every dtype as stored; float32: widen float16/bfloat16/float64 to float32.")
    var dtype: DTypePolicy = .keep

    @Option(help: ArgumentHelp("Record an eval preprocessing not in the registry: RESIZE:CROP[:INTERPOLATION] "
                               + "(torchvision ImageClassification; mean/std from --mean/--std, ImageNet's by default)."))
    var preset: String?

    @Option(help: "Per-channel mean for --preset (comma-separated).") var mean = "0.485,0.456,0.406"
    @Option(help: "Per-channel std for --preset (comma-separated).") var std = "0.229,0.224,0.225"

    @Option(help: "Record the class names (a text file, one per line, in output order).") var classes: String?

    @OptionGroup var open: OpenOptions

    func run() throws {
        let store = try reportingErrors(file: input) { try open.open(input) }
        var detectionLine: String?
        if let arch {
            guard Zoo.spec(named: arch) != nil || Zoo.families.contains(arch) else {
                try reportingErrors(file: input) { throw ZooError.unknownArch(arch) }
                return
            }
            store.metadata.arch = arch
        } else if store.metadata.arch == nil {
            // Recorded only when exactly one architecture fits; otherwise the store simply records none.
            switch Result(catching: { try ArchitectureDetection.detect(store.entries.map { (name: $0.name, tensor: $0.tensor) }) }) {
            case .success(let detected):
                store.metadata.arch = detected.arch
                detectionLine = "architecture: \(detected.arch) (detected from the keys and shapes, recorded)"
            case .failure(let error):
                detectionLine = "architecture: not recorded (\(error))"
            }
        }
        if let weights {
            // Recorded by its full name, so predict finds the preset again.
            let info = try reportingErrors(file: input) { try WeightsRegistry.resolve(weights, arch: arch) }
            store.metadata.weights = info.fullName
        }
        if let preset {
            let pipeline = try parsePreset(preset)
            try reportingErrors(file: input) { try store.metadata.record(pipeline) }
        }
        if let classes {
            let text = try reportingErrors(file: classes) { try String(contentsOfFile: classes, encoding: .utf8) }
            store.metadata.classes = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let summary = try reportingErrors(file: input) { try store.writeSafetensors(to: output, dtype: dtype) }
        // After the write, which waited for the source hash anyway (it is computed beside the copy).
        printWarnings(store, file: input)
        let mb = Double(summary.bytes) / 1_000_000
        var line = "converted \(input.escapedForTerminal) (\(store.format.rawValue)) -> \(output.escapedForTerminal): "
        line += "\(summary.tensors) tensors, \(String(format: "%.1f", mb)) MB"
        if summary.converted > 0 { line += ", \(summary.converted) widened to float32" }
        if let sha = store.metadata.sourceSHA256 { line += ", source sha256 \(sha.prefix(12))…" }
        print(line)
        // After the write: a convert that fails records nothing, so it says nothing about recording.
        if let detectionLine { print(detectionLine) }
    }

    func parsePreset(_ text: String) throws -> ImagePipeline {
        let parts = text.split(separator: ":").map(String.init)
        let floats = { (s: String) in s.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) } }
        guard parts.count >= 2, let resize = Int(parts[0]), let crop = Int(parts[1]), resize > 0, crop > 0,
              floats(mean).count == 3, floats(std).count == 3
        else { throw ValidationError("--preset RESIZE:CROP[:INTERPOLATION], --mean and --std with three values each") }
        let interpolation = parts.count > 2 ? ResampleFilter(rawValue: parts[2]) : .bilinear
        guard let filter = interpolation else { throw ValidationError("unknown interpolation '\(parts[2])'") }
        return .torchvision(ClassificationPreset(resizeSize: resize, cropSize: crop, interpolation: filter,
                                                 mean: floats(mean), std: floats(std)))
    }
}
