import ArgumentParser
import Foundation
import Graft

/// Options for building a model from a checkpoint.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Architecture: a torchvision builder name (resnet50, efficientnet_b0, vgg16_bn, …) or a "
                               + "family (resnet, vgg, efficientnet, efficientnet_v2, efficientnet_lite) whose sizes are "
                               + "read from the checkpoint. Optional when the store records it."))
    var arch: String?

    @Option(help: "The checkpoint: any format Graft reads.")
    var checkpoint: String

    @Option(help: "Initialize model keys matching this pattern when the checkpoint lacks them (repeatable; * and ? wildcards).")
    var allowMissing: [String] = []

    @Option(help: "Leave checkpoint keys matching this pattern unused (repeatable).")
    var ignore: [String] = []

    @OptionGroup var open: OpenOptions

    func load() throws -> (store: WeightStore, loaded: LoadedModel, arch: String) {
        let store = try open.open(checkpoint, hashSource: false)
        guard let arch = arch ?? store.metadata.arch else {
            throw ValidationError("--arch is needed: \(checkpoint) does not record its architecture")
        }
        var load = LoadOptions()
        load.allowMissing = allowMissing.map(Glob.init)
        load.ignore = ignore.map(Glob.init)
        return (store, try ModelLoader.load(arch: arch, store: store, options: load), arch)
    }
}
