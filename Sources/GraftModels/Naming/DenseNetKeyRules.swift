import Foundation

/// torchvision's DenseNet checkpoints from before module names could not hold dots name a dense
/// layer's parts `norm.1`, `relu.1`, `conv.1`, `norm.2`, `relu.2`, `conv.2`; today's modules are `norm1`,
/// `conv1`, …. torchvision renames them when it loads its own weights (`_load_state_dict` in
/// densenet.py); these rules do the same to any list of named tensors, so every DenseNet checkpoint
/// torchvision accepts loads here too.
///
/// The rules are data: a pattern over the whole key and a template (`$1`, `$2` the captured groups).
/// A key no rule matches keeps its name, as in torchvision (`num_batches_tracked` is not in its
/// pattern: the old checkpoints predate it).
public enum DenseNetKeyRules {
    public static let rules: [(pattern: String, template: String)] = [
        // `features.denseblock1.denselayer1.norm.1.weight` → `features.denseblock1.denselayer1.norm1.weight`
        (#"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"#, "$1$2"),
    ]

    /// Keys that can match a rule contain this; other keys skip the regular expressions.
    static let marker = "denselayer"

    /// Whether any key is in the old naming.
    public static func needsRenaming(_ names: [String]) -> Bool {
        let compiled = compiledRules()
        return names.contains { rename($0, compiled) != nil }
    }

    /// The tensors under torchvision's current names, in their order (tensors are passed through).
    public static func map<T>(_ tensors: [(name: String, tensor: T)]) -> [(name: String, tensor: T)] {
        let compiled = compiledRules()
        return tensors.map { entry in (rename(entry.name, compiled) ?? entry.name, entry.tensor) }
    }

    /// The new name of one key, or nil when no rule matches it.
    public static func renamed(_ key: String) -> String? { rename(key, compiledRules()) }

    private static func compiledRules() -> [(Regex<AnyRegexOutput>, String)] {
        // The patterns are constants of this file: a failure to compile is a programming error.
        rules.map { (try! Regex($0.pattern), $0.template) }
    }

    private static func rename(_ key: String, _ compiled: [(Regex<AnyRegexOutput>, String)]) -> String? {
        guard key.contains(marker) else { return nil }
        for (regex, template) in compiled {
            guard let match = try? regex.wholeMatch(in: key) else { continue }
            var out = template
            for i in (1..<match.output.count).reversed() {
                out = out.replacingOccurrences(of: "$\(i)", with: match.output[i].substring.map(String.init) ?? "")
            }
            return out
        }
        return nil
    }
}
