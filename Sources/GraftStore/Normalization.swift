import GraftCore

/// What state-dict normalization did to a checkpoint, recorded in the store's metadata and printed by
/// `graft inspect`, so no renaming or dropping happens silently.
public struct NormalizationReport: Codable, Sendable, Equatable {
    /// The wrapper key the weights were taken from (`state_dict`, `model`, …), nil if the file was the
    /// state dict itself.
    public var unwrapped: String?
    /// Other wrapper keys that also held weights (an EMA copy, say), not used.
    public var alternatives: [String] = []
    /// Prefixes removed from every tensor name (`module.` from DataParallel, `_orig_mod.` from
    /// torch.compile), in the order they were removed.
    public var strippedPrefixes: [String] = []
    /// Non-tensor entries that were dropped, with what they were ("epoch: int 3").
    public var dropped: [String] = []

    public init() {}

    public var isEmpty: Bool { unwrapped == nil && strippedPrefixes.isEmpty && dropped.isEmpty && alternatives.isEmpty }

    /// One line per action, for `inspect`.
    public var lines: [String] {
        var out: [String] = []
        if let u = unwrapped { out.append("unwrapped the '\(u)' entry") }
        for a in alternatives { out.append("also present, not used: '\(a)'") }
        for p in strippedPrefixes { out.append("stripped the '\(p)' prefix from every name") }
        for d in dropped { out.append("dropped \(d)") }
        return out
    }
}

public enum NormalizationError: Error, CustomStringConvertible, Equatable {
    case noTensors(String)
    case nameCollision(String)
    case preferredKeyMissing(String)

    public var description: String {
        switch self {
        case .noTensors(let what): return "no tensors found: \(what)"
        case .nameCollision(let name): return "two tensors would both be named '\(name)' after normalization"
        case .preferredKeyMissing(let key): return "the checkpoint has no '\(key)' entry holding tensors"
        }
    }
}

/// Finds the state dict inside a checkpoint and cleans its names, as timm's `clean_state_dict` and
/// torch's `consume_prefix_in_state_dict_if_present` would, but reporting every step.
public struct StateDictNormalizer: Sendable {
    /// Wrapper keys, most preferred first. The plain weights win over EMA copies unless
    /// `preferEMA` is set.
    public static let wrapperKeys = ["state_dict", "model_state_dict", "model", "net", "network", "module", "params",
                                     "weights"]
    public static let emaKeys = ["state_dict_ema", "model_ema", "ema", "ema_state_dict"]
    public static let wrapperPrefixes = ["module.", "_orig_mod."]

    public var preferEMA = false
    /// Take the weights from this key instead of choosing automatically.
    public var key: String?

    public init(preferEMA: Bool = false, key: String? = nil) {
        self.preferEMA = preferEMA
        self.key = key
    }

    public func normalize(_ root: CheckpointValue) throws -> (tensors: [(name: String, tensor: LazyTensor)], report: NormalizationReport) {
        var report = NormalizationReport()
        let stateDict = try select(root, report: &report)
        var tensors: [(name: String, tensor: LazyTensor)] = []
        flatten(stateDict, prefix: "", into: &tensors, report: &report)
        guard !tensors.isEmpty else { throw NormalizationError.noTensors("the checkpoint holds no tensor") }
        stripWrapperPrefixes(&tensors, report: &report)
        var seen = Set<String>()
        for t in tensors where !seen.insert(t.name).inserted { throw NormalizationError.nameCollision(t.name) }
        return (tensors, report)
    }

    /// The dict that holds the weights.
    private func select(_ root: CheckpointValue, report: inout NormalizationReport) throws -> CheckpointValue {
        guard case .dict(let items) = root else {
            if case .tensor = root { return .dict([(key: "tensor", value: root)]) }
            throw NormalizationError.noTensors("the checkpoint is a \(root.summary), not a dict")
        }
        func holdsTensors(_ key: String) -> CheckpointValue? {
            guard let v = items.first(where: { $0.key == key })?.value, case .dict = v, v.containsTensor else { return nil }
            return v
        }
        if let key {
            guard let v = holdsTensors(key) else { throw NormalizationError.preferredKeyMissing(key) }
            report.unwrapped = key
            noteDropped(items, except: key, report: &report)
            return v
        }
        // Tensors at the top level: the file is the state dict itself.
        if items.contains(where: { if case .tensor = $0.value { return true } else { return false } }) { return root }
        let order = preferEMA ? Self.emaKeys + Self.wrapperKeys : Self.wrapperKeys + Self.emaKeys
        let candidates = order.filter { holdsTensors($0) != nil }
        let chosen: String
        if let first = candidates.first {
            chosen = first
        } else {
            // No known wrapper: a single dict holding tensors is the state dict; else keep the nesting.
            let holders = items.filter { if case .dict = $0.value { return $0.value.containsTensor } else { return false } }
            guard holders.count == 1 else { return root }
            chosen = holders[0].key
        }
        report.unwrapped = chosen
        report.alternatives = candidates.filter { $0 != chosen && Self.emaKeys.contains($0) }
        noteDropped(items, except: chosen, report: &report)
        return holdsTensors(chosen) ?? root
    }

    private func noteDropped(_ items: [(key: String, value: CheckpointValue)], except kept: String,
                             report: inout NormalizationReport) {
        for item in items where item.key != kept { report.dropped.append("\(item.key): \(item.value.summary)") }
    }

    /// Tensors under dotted names; nested dicts of tensors are joined with '.', everything else dropped.
    private func flatten(_ value: CheckpointValue, prefix: String, into out: inout [(name: String, tensor: LazyTensor)],
                         report: inout NormalizationReport) {
        switch value {
        case .tensor(let t):
            out.append((prefix, t))
        case .dict(let items):
            for item in items {
                let name = prefix.isEmpty ? item.key : "\(prefix).\(item.key)"
                if item.value.containsTensor {
                    flatten(item.value, prefix: name, into: &out, report: &report)
                } else {
                    report.dropped.append("\(name): \(item.value.summary)")
                }
            }
        case .list(let items):
            for (i, item) in items.enumerated() {
                flatten(item, prefix: prefix.isEmpty ? String(i) : "\(prefix).\(i)", into: &out, report: &report)
            }
        case .other(let text):
            report.dropped.append("\(prefix): \(text)")
        }
    }

    /// Removes `module.` / `_orig_mod.` when every name carries it (possibly stacked).
    private func stripWrapperPrefixes(_ tensors: inout [(name: String, tensor: LazyTensor)], report: inout NormalizationReport) {
        var changed = true
        while changed {
            changed = false
            for p in Self.wrapperPrefixes where tensors.allSatisfy({ $0.name.hasPrefix(p) && $0.name.count > p.count }) {
                tensors = tensors.map { (String($0.name.dropFirst(p.count)), $0.tensor) }
                report.strippedPrefixes.append(p)
                changed = true
            }
        }
    }
}
