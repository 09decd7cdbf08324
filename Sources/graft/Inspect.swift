import ArgumentParser
import Foundation
import Graft

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a weight file's format, every tensor, totals, and what normalization did.")

    @Argument(help: "A .pth/.pt checkpoint, a .safetensors store or a Keras .h5 file.")
    var file: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "Read only the file's structure: no tensor data (CRCs, compressed streams, HDF5 checksums are then not checked) and no sha256.")
    var fast = false

    @OptionGroup var open: OpenOptions

    struct Report: Encodable {
        struct Tensor: Encodable { let name: String; let dtype: String; let shape: [Int]; let bytes: Int }
        let file: String
        let format: String
        let naming: String
        let sha256: String?
        /// "checked" (every tensor read through its format's checks) or "skipped (--fast)".
        let integrity: String
        /// The architecture detected from the keys and shapes, or why none was.
        let detectedArch: String?
        let detectionError: String?
        let tensors: [Tensor]
        let totalTensors: Int
        let totalElements: Int
        let totalBytes: Int
        let normalization: [String]
        let notes: [String]
        let warnings: [String]
        let metadata: [String: String]
    }

    func run() throws {
        let store = try reportingErrors(file: file) { try open.open(file, hashSource: !fast, readsData: !fast) }
        // Integrity first: a file whose data fails its own checks is bad input, whatever its header says.
        if !fast { try reportingErrors(file: file) { try store.checkIntegrity() } }
        let scheme = store.namingScheme
        let detection = Result { try ArchitectureDetection.detect(store.entries.map { (name: $0.name, tensor: $0.tensor) }) }
        let report = Report(
            file: file, format: store.format.rawValue, naming: scheme.rawValue, sha256: try? store.sourceSHA256(),
            integrity: fast ? "skipped (--fast)" : "checked",
            detectedArch: try? detection.get().arch,
            detectionError: { if case .failure(let e) = detection { return "\(e)" } else { return nil } }(),
            tensors: store.entries.map { .init(name: $0.name, dtype: $0.tensor.dtype.rawValue, shape: $0.tensor.shape, bytes: $0.tensor.byteCount) },
            totalTensors: store.entries.count, totalElements: store.totalElements, totalBytes: store.totalBytes,
            normalization: store.metadata.normalization?.lines ?? [], notes: store.metadata.notes,
            warnings: store.warnings,
            metadata: Dictionary(uniqueKeysWithValues: store.metadata.encoded().map { ($0.key, $0.value) }))
        printWarnings(store, file: file)
        if json { return try printJSON(report) }

        print("file:    \(file.escapedForTerminal)")
        print("format:  \(store.format.summary)")
        print("naming:  \(scheme.summary)")
        if let sha = report.sha256 { print("sha256:  \(sha)") } else if fast { print("sha256:  not computed (--fast)") }
        print("data:    " + (fast ? "not read (--fast: CRCs and compressed streams not checked)" : "every tensor read and checked"))
        for note in store.metadata.notes { print("note:    \(note.escapedForTerminal)") }
        if let arch = store.metadata.arch { print("arch:    \(arch.escapedForTerminal) (recorded)") }
        if let timm = store.metadata.timmArchitecture, let source = store.metadata.sourceFormat {
            print("timm:    \(source.escapedForTerminal), architecture \(timm.escapedForTerminal)")
            if let pipeline = try? store.recordedPipeline() { print("preprocessing: \(pipeline.summary) (pretrained_cfg)") }
        }
        if let arch = report.detectedArch {
            print("detected: \(arch) (the only architecture with exactly these keys and shapes)")
        } else if let error = report.detectionError {
            print("detected: none — \(error.escapedForTerminal)")
        }
        if let weights = store.metadata.weights { print("weights: \(weights.escapedForTerminal)") }
        if let activation = store.metadata.outputActivation {
            print("outputs: logits through \(activation.escapedForTerminal) (the classifier activation; verify --logits compares logits)")
        }
        let lines = report.normalization
        print("normalization: \(lines.isEmpty ? "none needed" : "")")
        for line in lines { print("  - \(line.escapedForTerminal)") }
        let nameWidth = min(60, max(4, store.entries.map { $0.name.escapedForTerminal.count }.max() ?? 4))
        print("")
        print("  " + "name".padding(nameWidth) + "  dtype     shape                  bytes")
        for e in store.entries {
            let shape = "[" + e.tensor.shape.map(String.init).joined(separator: ", ") + "]"
            print("  " + e.name.escapedForTerminal.padding(nameWidth) + "  " + e.tensor.dtype.rawValue.padding(8)
                  + "  " + shape.padding(20) + "  " + e.tensor.byteCount.grouped.leftPadding(12))
        }
        print("")
        print("total: \(report.totalTensors) tensors, \(report.totalElements.grouped) elements, \(report.totalBytes.grouped) bytes")
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
