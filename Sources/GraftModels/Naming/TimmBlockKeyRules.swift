import GraftCore

/// The inverted-residual blocks of timm's EfficientNet and MobileNetV3 against torchvision's.
///
/// torchvision numbers a block's parts by position (`…block.i`): [expand], depthwise, [squeeze],
/// project — an absent part shifts the rest. timm names them (`conv_pw`, `conv_dw`, `se.conv_reduce`,
/// `conv_pwl`; a block without expansion is a `DepthwiseSeparable` with its own names). The part
/// tables are `EfficientNetKeyRules`'; this file places whole blocks: EfficientNet keeps stages
/// (`blocks.s.b` ↔ `features.{s+1}.b`), MobileNetV3 numbers torchvision's blocks flat
/// (`features.{n}`), with timm's last stage a lone 1×1 conv + BN (`ConvBnAct`: `conv`, `bn1`).
enum TimmBlockKeyRules {
    typealias Named = TimmKeyRules.Named
    typealias Part = EfficientNetKeyRules.Part

    /// The parts a block has, in torchvision's order, from its positions and whether one of them is a
    /// squeeze-excitation: four positions (or three without SE) mean an expansion conv.
    static func parts(positions: Int, squeeze: Bool) -> [Part] {
        let expand = positions - (squeeze ? 1 : 0) == 3
        return (expand ? [.expand] : []) + [.depthwise] + (squeeze ? [.squeeze] : []) + [.project]
    }

    /// Graft's names of MobileNetV3 block keys (every `blocks.` key), by their position in the flat list.
    static func mobileNetV3ToGraft(_ tensors: [Named]) throws -> [String: String] {
        let names = Set(tensors.map(\.name))
        var places: Set<[Int]> = []
        for n in names where n.hasPrefix("blocks.") {
            let p = n.split(separator: ".")
            guard p.count > 3, let s = Int(p[1]), let b = Int(p[2]), s < 1000, b < 1000 else {
                throw TimmNamingError(layout: "mobilenetv3", key: n, reason: "no stage.block index")
            }
            places.insert([s, b])
        }
        var out: [String: String] = [:]
        for (flat, place) in places.sorted(by: { $0.lexicographicallyPrecedes($1) }).enumerated() {
            let prefix = "blocks.\(place[0]).\(place[1])."
            let keys = names.filter { $0.hasPrefix(prefix) }
            let has = { (fragment: String) in keys.contains { $0.hasPrefix(prefix + fragment) } }
            let feature = "features.\(flat + 1)."
            if has("conv.") && !has("conv_dw.") {
                // ConvBnAct: torchvision's last Conv2dNormActivation.
                for k in keys {
                    let rest = String(k.dropFirst(prefix.count))
                    if rest.hasPrefix("conv.") { out[k] = feature + "0." + rest.dropFirst(5) }
                    else if rest.hasPrefix("bn1.") { out[k] = feature + "1." + rest.dropFirst(4) }
                    else { throw TimmNamingError(layout: "mobilenetv3", key: k, reason: "not part of a conv + BN block") }
                }
                continue
            }
            let table = has("conv_pwl.") ? EfficientNetKeyRules.timmInvertedResidual : EfficientNetKeyRules.timmDepthwiseSeparable
            let present = parts(positions: Set(table.filter { has($0.0) }.map { "\($0.1)" }).count, squeeze: has("se."))
            for k in keys {
                let rest = String(k.dropFirst(prefix.count))
                guard let (fragment, part, sub) = table.first(where: { rest.hasPrefix($0.0) }),
                      let position = present.firstIndex(of: part) else {
                    throw TimmNamingError(layout: "mobilenetv3", key: k, reason: "not a part of an inverted-residual block")
                }
                out[k] = feature + "block.\(position).\(sub)" + rest.dropFirst(fragment.count)
            }
        }
        return out
    }

    /// One torchvision block's keys under timm's names: `prefix` is timm's block (`blocks.s.b.`),
    /// `keys` maps Graft's key to the part after `…block.`.
    static func blockToTimm(_ keys: [(graft: String, rest: Substring)], prefix: String, layout: String) throws -> [String: String] {
        let positions = Set(keys.compactMap { $0.rest.split(separator: ".").first.flatMap { Int($0) } })
        let squeeze = keys.contains { $0.rest.split(separator: ".").dropFirst().first == "fc1" }
        let present = parts(positions: positions.count, squeeze: squeeze)
        let table = present.contains(.expand) ? EfficientNetKeyRules.timmInvertedResidual : EfficientNetKeyRules.timmDepthwiseSeparable
        var out: [String: String] = [:]
        for (graft, rest) in keys {
            let split = rest.split(separator: ".", maxSplits: 1)
            guard split.count == 2, let position = Int(split[0]), position < present.count,
                  let (fragment, _, sub) = table.first(where: { $0.1 == present[position] && split[1].hasPrefix($0.2) }) else {
                throw TimmNamingError(layout: layout, key: graft, reason: "not a part of an inverted-residual block")
            }
            out[graft] = prefix + fragment + split[1].dropFirst(sub.count)
        }
        return out
    }

    /// Graft's block keys (`features.S.B.block.…`) under timm's EfficientNet names (`blocks.{S-1}.B.…`).
    static func efficientNetToTimm(_ tensors: [Named]) throws -> [String: String] {
        var blocks: [String: [(graft: String, rest: Substring)]] = [:]
        for t in tensors where t.name.hasPrefix("features.") && t.name.contains(".block.") {
            let p = t.name.split(separator: ".", maxSplits: 4)
            guard p.count == 5, p[3] == "block", let s = Int(p[1]), let b = Int(p[2]), s >= 1 else {
                throw TimmNamingError(layout: "efficientnet", key: t.name, reason: "no stage.block index")
            }
            blocks["blocks.\(s - 1).\(b).", default: []].append((t.name, p[4]))
        }
        var out: [String: String] = [:]
        for (prefix, keys) in blocks { out.merge(try blockToTimm(keys, prefix: prefix, layout: "efficientnet")) { a, _ in a } }
        return out
    }

    /// Blocks per stage in timm's `mobilenetv3_large_100` / `_small_100` arch_def (the last ConvBnAct apart).
    static let mobileNetV3LargeStages = [1, 2, 3, 4, 2, 3]
    static let mobileNetV3SmallStages = [1, 2, 3, 2, 3]

    /// Graft's MobileNetV3 feature keys (`features.1…L`) under timm's names: consecutive blocks with
    /// one output width form a timm stage (timm's own stage sizes for Large and Small), and the last feature (1×1 conv + BN) is its own stage.
    static func mobileNetV3ToTimm(_ tensors: [Named]) throws -> [String: String] {
        var features: [Int: [(graft: String, rest: Substring)]] = [:]
        for t in tensors where t.name.hasPrefix("features.") {
            let p = t.name.split(separator: ".", maxSplits: 2)
            guard p.count == 3, let n = Int(p[1]) else { throw TimmNamingError(layout: "mobilenetv3", key: t.name, reason: "no block index") }
            if n > 0 { features[n, default: []].append((t.name, p[2])) }
        }
        let shapes = Dictionary(tensors.map { ($0.name, $0.tensor.shape) }, uniquingKeysWith: { a, _ in a })
        var out: [String: String] = [:]
        var stage = -1, index = 0, width = -1
        // timm's arch_def stage sizes for Large (15 blocks) and Small (11); other depths are grouped by width.
        let blockCount = features.values.filter { $0.allSatisfy { $0.rest.hasPrefix("block.") } }.count
        let stageSizes = blockCount == 15 ? mobileNetV3LargeStages : blockCount == 11 ? mobileNetV3SmallStages : nil
        var starts = Set<Int>()
        if let sizes = stageSizes { var first = 1; for size in sizes { starts.insert(first); first += size } }
        for n in features.keys.sorted() {
            let keys = features[n]!
            let isBlock = keys.allSatisfy { $0.rest.hasPrefix("block.") }
            if !isBlock {
                // The last Conv2dNormActivation: timm's ConvBnAct stage.
                stage += 1
                for (graft, rest) in keys {
                    if rest.hasPrefix("0.") { out[graft] = "blocks.\(stage).0.conv." + rest.dropFirst(2) }
                    else if rest.hasPrefix("1.") { out[graft] = "blocks.\(stage).0.bn1." + rest.dropFirst(2) }
                    else { throw TimmNamingError(layout: "mobilenetv3", key: graft, reason: "not part of a conv + BN block") }
                }
                continue
            }
            let inner = keys.map { (graft: $0.graft, rest: $0.rest.dropFirst("block.".count)) }
            let last = inner.compactMap { $0.rest.split(separator: ".").first.flatMap { Int($0) } }.max() ?? 0
            let out0 = shapes["features.\(n).block.\(last).0.weight"]?.first ?? -1
            let newStage = stageSizes != nil ? starts.contains(n) : out0 != width
            if newStage { stage += 1; index = 0; width = out0 } else { index += 1 }
            out.merge(try blockToTimm(inner, prefix: "blocks.\(stage).\(index).", layout: "mobilenetv3")) { a, _ in a }
        }
        return out
    }
}
