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
                      FineTune.self])

    static func main() {
        singleThreadedOpenBLAS()
        Self.main(nil)
    }

    /// Graft splits work over the cores itself and calls OpenBLAS single-threaded, but Debian's
    /// OpenBLAS starts its own worker threads when the library loads, and they spin for about a tenth
    /// of a second — long enough to steal a core from a short command (convert hashes on the second
    /// core). Unless the user chose a thread count, stop those workers before anything else runs.
    static func singleThreadedOpenBLAS() {
        #if os(Linux)
        guard getenv("OPENBLAS_NUM_THREADS") == nil, let shutdown = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_")
        else { return }
        typealias Shutdown = @convention(c) () -> Int32
        _ = unsafeBitCast(shutdown, to: Shutdown.self)()
        #endif
    }
}
