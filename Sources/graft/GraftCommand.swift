import ArgumentParser
import Foundation
import Graft

/// `graft`: PyTorch and Keras CNN weights → a native safetensors store → Swift ResNet/VGG/EfficientNet.
@main
struct GraftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graft",
        abstract: "Import pretrained CNN weights, verify them against their framework, run and fine-tune them.",
        discussion: """
            Input files are untrusted: every reader validates what it reads and stops with exit code 2 \
            and one line naming the file, the record and the reason. Nothing is half-written.
            """,
        version: "0.1.0",
        subcommands: [Inspect.self, Convert.self, Export.self, Verify.self, Predict.self, Preprocess.self, Bench.self,
                      FineTune.self, LRFind.self, Features.self, Summary.self, Explain.self, ReadHDF5.self])

    static func main() {
        BLASRuntime.stopLoadTimeThreads()
        FatalSignals.install()
        // libhdf5 runs in a watched child: this same executable (/proc/self/exe in the child being
        // spawned is still this image, even if the file was replaced since) with the hidden subcommand.
        KerasReaderProcess.configure(executable: "/proc/self/exe", arguments: [ReadHDF5.name])
        Self.main(nil)
    }
}
