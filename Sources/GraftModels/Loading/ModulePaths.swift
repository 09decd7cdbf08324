import GraftNN

extension LoadedModel {
    /// The model's module path for `path`, which may be written in the checkpoint's own naming:
    /// efficientnet_pytorch's `_blocks.12`, timm's `blocks.5.2` or `conv_head`, a Keras layer name
    /// (`conv4_block1_1_conv`). A foreign path is translated through the same rename tables the
    /// weights went through: the keys under it are renamed, and their common module prefix is the
    /// answer (climbing to a block that holds nothing else, but not into a Sequential). A path that is neither is an error listing the model's valid paths.
    public func modulePath(for path: String) throws -> String {
        if model.network.module(at: path) != nil { return path }
        let under = renames.filter { $0.source.hasPrefix(path + ".") || $0.source.hasPrefix(path + "/") }
        let modules = under.map { $0.model.split(separator: ".").dropLast().map(String.init) }
        if var common = modules.first {
            for m in modules.dropFirst() {
                common = Array(zip(common, m).prefix { $0 == $1 }.map(\.0))
            }
            // Climb to the outermost module that holds exactly these parameters (MBConv over its `block`).
            while common.count > 1, let here = model.network.module(at: common.joined(separator: ".")),
                  let up = model.network.module(at: common.dropLast().joined(separator: ".")),
                  !(up is Sequential), up.parameters.count == here.parameters.count {
                common.removeLast()
            }
            let translated = common.joined(separator: ".")
            if !translated.isEmpty, model.network.module(at: translated) != nil { return translated }
        }
        _ = try model.network.requireModule(at: path)  // throws, listing the valid paths
        return path
    }
}
