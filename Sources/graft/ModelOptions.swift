import ArgumentParser
import Foundation
import Graft

/// Options for building a model from a checkpoint.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Architecture: a torchvision builder name (resnet50, efficientnet_b0, vgg16_bn, …) or a "
                               + "family (resnet, vgg, efficientnet, mobilenet_v3, densenet, regnet, …) whose sizes are "
                               + "read from the checkpoint. When omitted: the store's recorded one, else detected from the keys and shapes."))
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
        var load = LoadOptions()
        load.allowMissing = allowMissing.map(Glob.init)
        load.ignore = ignore.map(Glob.init)
        guard let arch = arch ?? store.metadata.arch else {
            // Neither given nor recorded: detected from the keys and shapes, or an error naming the candidates.
            let loaded = try ModelLoader.load(store: store, options: load)
            return (store, loaded, loaded.model.arch)
        }
        return (store, try ModelLoader.load(arch: arch, store: store, options: load), arch)
    }
}
