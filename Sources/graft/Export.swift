import ArgumentParser
import Foundation
import Graft

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a store (or any supported input) as a PyTorch zip checkpoint.",
        discussion: "The result loads with torch.load(path, weights_only=True) as a dict of tensors equal to the source.")

    @Argument(help: "A store or any supported checkpoint.")
    var input: String

    @Argument(help: "The output .pth file.")
    var output: String

    @OptionGroup var open: OpenOptions

    func run() throws {
        let store = try reportingErrors(file: input) { try open.open(input, hashSource: false) }
        try reportingErrors(file: input) { try store.exportTorch(to: output) }
        print("exported \(input.escapedForTerminal) -> \(output.escapedForTerminal): \(store.entries.count) tensors, "
              + "\(store.totalBytes.grouped) bytes")
    }
}
