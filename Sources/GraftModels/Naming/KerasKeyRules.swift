import Foundation
import GraftCore

/// Keras application layer names onto Graft's graph names (torchvision's module paths), as rule
/// tables: a Keras weight `conv2_block1_1_conv/kernel` is layer `conv2_block1_1_conv`, weight `kernel`;
/// the layer maps by the tables below, the weight by `weightNames`.
enum KerasKeyRules {
    /// Keras variable names → torch parameter names.
    static let weightNames: [String: String] = [
        "kernel": "weight", "depthwise_kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias",
        "moving_mean": "running_mean", "moving_variance": "running_var", "mean": "mean", "variance": "variance",
        "count": "count",
    ]

    /// ResNet v1 (keras.applications.resnet): stacks `conv2…conv5` are torchvision's `layer1…layer4`.
    /// Tokens: `{n}` capture n, `{n-1}` capture n minus one.
    static let resnet: [(pattern: String, template: String)] = [
        (#"^conv1_conv$"#, "conv1"), (#"^conv1_bn$"#, "bn1"),
        (#"^conv(\d+)_block(\d+)_0_conv$"#, "layer{1-1}.{2-1}.downsample.0"),
        (#"^conv(\d+)_block(\d+)_0_bn$"#, "layer{1-1}.{2-1}.downsample.1"),
        (#"^conv(\d+)_block(\d+)_([123])_conv$"#, "layer{1-1}.{2-1}.conv{3}"),
        (#"^conv(\d+)_block(\d+)_([123])_bn$"#, "layer{1-1}.{2-1}.bn{3}"),
        (#"^predictions$"#, "fc"),
    ]

    /// EfficientNet (keras.applications.efficientnet): block parts in torchvision's block layout.
    static let efficientnetParts: [(String, EfficientNetKeyRules.Part, String)] = [
        ("expand_conv", .expand, "0"), ("expand_bn", .expand, "1"), ("dwconv", .depthwise, "0"), ("bn", .depthwise, "1"),
        ("se_reduce", .squeeze, "fc1"), ("se_expand", .squeeze, "fc2"), ("project_conv", .project, "0"),
        ("project_bn", .project, "1"),
    ]

    enum Family { case resnet, vgg, efficientnet }

    static func family(_ names: [String]) -> Family? {
        let layers = Set(names.map { String($0.prefix { $0 != "/" }) })
        if layers.contains("conv1_conv") { return .resnet }
        if layers.contains("stem_conv") { return .efficientnet }
        if layers.contains("block1_conv1") { return .vgg }
        return nil
    }

    /// Renames every tensor; VGG's `fc1` columns are reordered from Keras' NHWC flatten to NCHW.
    static func map(_ tensors: [(name: String, tensor: LazyTensor)]) throws -> (tensors: [(name: String, tensor: LazyTensor)], notes: [String]) {
        guard let family = family(tensors.map(\.name)) else { return (tensors, []) }
        let layers = Set(tensors.map { String($0.name.prefix { $0 != "/" }) })
        // Per file, not per key: the compiled ResNet rules and EfficientNet's stage count.
        let resnetRules = family == .resnet ? resnet.compactMap { rule in (try? Regex(rule.pattern)).map { ($0, rule.template) } } : []
        let stages = family == .efficientnet ? efficientnetStages(layers) : 0
        var notes: [String] = []
        let renamed = try tensors.map { entry -> (name: String, tensor: LazyTensor) in
            let parts = entry.name.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let weight = weightNames[parts[1]] else {
                throw NamingError.unmappedKey(scheme: "keras", key: entry.name)
            }
            let module: String
            switch family {
            case .resnet: module = try apply(resnetRules, to: parts[0], key: entry.name)
            case .efficientnet: module = try efficientnet(parts[0], layers: layers, stages: stages, key: entry.name)
            case .vgg: module = try vgg(parts[0], layers: layers, key: entry.name)
            }
            var tensor = entry.tensor
            // Keras 3's legacy writer names a depthwise kernel plain `kernel`; read as a Conv2D it comes out
            // [1, C, k, k]. With depth multiplier 1 the bytes are the same as the depthwise [C, 1, k, k].
            if family == .efficientnet, parts[0].hasSuffix("_dwconv"), tensor.shape.count == 4, tensor.shape[0] == 1 {
                let original = tensor, s = tensor.shape
                tensor = LazyTensor(dtype: original.dtype, shape: [s[1], 1, s[2], s[3]]) { try original.load().data }
                notes.append("\(entry.name) \(s) read as a depthwise kernel [\(s[1]), 1, \(s[2]), \(s[3])]")
            }
            if family == .vgg, parts[0] == "fc1", parts[1] == "kernel" {
                tensor = try nhwcToNCHWColumns(tensor, channels: lastConvChannels(tensors))
                notes.append("fc1/kernel columns reordered from Keras' NHWC flatten to NCHW")
            }
            return ("\(module).\(weight)", tensor)
        }
        return (renamed, notes)
    }

    static func apply(_ rules: [(regex: Regex<AnyRegexOutput>, template: String)], to layer: String, key: String) throws -> String {
        for rule in rules {
            guard let match = try? rule.regex.wholeMatch(in: layer) else { continue }
            var out = rule.template
            for i in (1..<match.output.count).reversed() {
                guard let text = match.output[i].substring.map(String.init) else { continue }
                if let n = Int(text) { out = out.replacingOccurrences(of: "{\(i)-1}", with: String(n - 1)) }
                out = out.replacingOccurrences(of: "{\(i)}", with: text)
            }
            return out
        }
        throw NamingError.unmappedKey(scheme: "keras", key: key)
    }

    /// `block3b_project_bn` → `features.3.1.block.<position of project>.1`; stem/top/predictions too.
    /// The highest `blockN…` stage number among the layers.
    static func efficientnetStages(_ layers: Set<String>) -> Int {
        layers.compactMap { l -> Int? in
            guard l.hasPrefix("block") else { return nil }
            return Int(l.dropFirst(5).prefix { $0.isNumber })
        }.max() ?? 0
    }

    static func efficientnet(_ layer: String, layers: Set<String>, stages: Int, key: String) throws -> String {
        switch layer {
        case "stem_conv": return "features.0.0"
        case "stem_bn": return "features.0.1"
        case "top_conv": return "features.\(stages + 1).0"
        case "top_bn": return "features.\(stages + 1).1"
        case "predictions": return "classifier.1"
        default: break
        }
        // Keras numbers auto-named layers per session (`normalization_1`).
        if layer == "normalization" || (layer.hasPrefix("normalization_") && Int(layer.dropFirst(14)) != nil) {
            return "normalization"
        }
        let digits = layer.dropFirst(5).prefix { $0.isNumber }
        guard layer.hasPrefix("block"), let stage = Int(digits) else { throw NamingError.unmappedKey(scheme: "keras", key: key) }
        let afterStage = layer.dropFirst(5 + digits.count)
        guard let letter = afterStage.first, let ascii = letter.asciiValue, letter.isLowercase, afterStage.dropFirst().first == "_" else {
            throw NamingError.unmappedKey(scheme: "keras", key: key)
        }
        let prefix = "block\(stage)\(letter)_"
        let part = String(afterStage.dropFirst(2))
        var present: [EfficientNetKeyRules.Part] = []
        for p in [EfficientNetKeyRules.Part.expand, .depthwise, .squeeze, .project] {
            let fragments = efficientnetParts.filter { $0.1 == p }.map { prefix + $0.0 }
            if fragments.contains(where: layers.contains) { present.append(p) }
        }
        guard let rule = efficientnetParts.first(where: { $0.0 == part }), let position = present.firstIndex(of: rule.1) else {
            throw NamingError.unmappedKey(scheme: "keras", key: key)
        }
        return "features.\(stage).\(Int(ascii) - 97).block.\(position).\(rule.2)"
    }

    /// `block2_conv1` → `features.<index>` in torchvision's numbering (conv, relu per conv; a pool per block).
    static func vgg(_ layer: String, layers: Set<String>, key: String) throws -> String {
        switch layer {
        case "fc1": return "classifier.0"
        case "fc2": return "classifier.3"
        case "predictions": return "classifier.6"
        default: break
        }
        guard let regex = try? Regex(#"^block(\d+)_conv(\d+)$"#), let m = try? regex.wholeMatch(in: layer),
              let block = m.output[1].substring.flatMap({ Int($0) }), let conv = m.output[2].substring.flatMap({ Int($0) })
        else { throw NamingError.unmappedKey(scheme: "keras", key: key) }
        var index = 0
        for b in 1..<block { index += 2 * convCount(block: b, layers) + 1 }
        return "features.\(index + 2 * (conv - 1))"
    }

    static func convCount(block: Int, _ layers: Set<String>) -> Int {
        layers.filter { $0.hasPrefix("block\(block)_conv") }.count
    }

    static func lastConvChannels(_ tensors: [(name: String, tensor: LazyTensor)]) throws -> Int {
        let convs = tensors.filter { $0.name.hasPrefix("block") && $0.name.hasSuffix("/kernel") }
        guard let last = convs.max(by: { $0.name.compare($1.name, options: .numeric) == .orderedAscending }) else {
            throw NamingError.unmappedKey(scheme: "keras", key: "fc1/kernel")
        }
        return last.tensor.shape[0]
    }

    /// A dense kernel `[out, H·W·C]` reading an NHWC flatten, reordered to read an NCHW flatten `[out, C·H·W]`.
    static func nhwcToNCHWColumns(_ t: LazyTensor, channels c: Int) throws -> LazyTensor {
        guard t.shape.count == 2, c > 0, t.shape[1] % c == 0 else { return t }
        let out = t.shape[0], inFeatures = t.shape[1], hw = inFeatures / c
        return LazyTensor(dtype: .float32, shape: t.shape) {
            let src = try t.load().convertedToFloat32().floatValues()
            let buffer = ByteBuffer(uninitializedCount: src.count * 4)
            let dst = buffer.mutableBase.assumingMemoryBound(to: Float.self)
            for o in 0..<out {
                let row = o * inFeatures
                for ch in 0..<c { for p in 0..<hw { dst[row + ch * hw + p] = src[row + p * c + ch] } }
            }
            return buffer
        }
    }
}
