import ArgumentParser
import Foundation
import Graft

/// The child process of a Keras import (`KerasReaderProcess`): not for people. The parent runs it
/// under a watchdog; it bounds itself, reads the file with libhdf5 and hands the tensors back as a
/// safetensors file. A refusal is the reader's message alone on stderr (the parent names the file).
struct ReadHDF5: ParsableCommand {
    static let name = "__read-hdf5"
    static let configuration = CommandConfiguration(
        commandName: name, abstract: "Internal: read a Keras HDF5 file for a watching parent.",
        shouldDisplay: false)

    @Option var memoryMb: Int
    @Option var cpuSeconds: Int
    @Option var parent: Int32?
    @Flag var shapesOnly = false
    @Argument var input: String
    @Argument var output: String

    func run() throws {
        do {
            try KerasReaderProcess.runChild(
                input: input, output: output, memoryMiB: memoryMb, cpuSeconds: cpuSeconds, parent: parent,
                shapesOnly: shapesOnly)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw Exit.badInput
        }
    }
}
