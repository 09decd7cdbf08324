import GraftCore
import GraftHDF5

/// Reads the Keras 3 layout written by `save_weights("x.weights.h5")`.
///
/// Keras names each layer's group after its class, with a counter per class in the model's layer
/// order (`layers/conv2d`, `layers/conv2d_1`, …; `saving_lib._save_container_state`), and keeps the
/// variables in `vars/0`, `vars/1`, … in creation order, trainable first. The user-visible layer
/// name is the `name` attribute of each `vars` group (written by `saving_lib._save_state`); older
/// files lack it, and then layers are known only by class and per-class index. A nested model
/// appears as `layers/functional/layers/…`. Files from tf.keras 2.13 use
/// `_layer_checkpoint_dependencies` instead of `layers` (Keras' own reader accepts both).
struct KerasV3Reader {
    let root: HDF5Group
    /// `layers` or `_layer_checkpoint_dependencies`.
    let base: String
    let options: KerasImportOptions

    private struct VariableGroup {
        let owner: [String]
        let group: HDF5Group
        let layerName: String?
    }

    func read() throws -> KerasWeights {
        let baseGroup = try keras { try root.group(base) }
        var found: [VariableGroup] = []
        try keras {
            try baseGroup.walkGroups { group, relative in
                guard relative.last == "vars" else { return true }
                found.append(
                    VariableGroup(
                        owner: [base] + relative.dropLast(), group: group,
                        layerName: try group.stringAttribute("name")))
                return false
            }
            if try root.linkKind("vars") != nil {
                let group = try root.group("vars")
                found.append(VariableGroup(owner: [], group: group, layerName: "top_level_model_weights"))
            }
        }
        var names: [[String]: String] = [:]
        for entry in found { names[entry.owner] = entry.layerName }
        var notes: [String] = []
        var layers: [KerasLayer] = []
        var allNamed = true
        // Model-level variables (the root `vars`) go last, as legacy files keep them last.
        let ordered = found.sorted { a, b in
            a.owner.isEmpty != b.owner.isEmpty ? b.owner.isEmpty : naturalLess(a.owner, b.owner)
        }
        for entry in ordered {
            let count = try variableCount(entry.group)
            guard count > 0 else { continue }
            guard let key = entry.owner.last else {
                layers.append(
                    try makeLayer(
                        entry, name: "top_level_model_weights", fileKey: "vars", count: count,
                        parsed: nil, notes: &notes))
                continue
            }
            let name: String
            if let own = entry.layerName {
                // Prefix the names of enclosing models: owner ["layers", "functional", "layers", "dense"]
                // is inside the model whose variables are at ["layers", "functional"].
                let parts = (1..<entry.owner.count).compactMap { names[Array(entry.owner.prefix($0))] } + [own]
                if let bad = parts.first(where: { !isValidComponent($0) }) {
                    throw KerasError.invalidName(path: entry.group.path, name: bad)
                }
                name = parts.joined(separator: "/")
            } else {
                allNamed = false
                name = entry.owner.dropFirst().joined(separator: "/")
            }
            layers.append(
                try makeLayer(
                    entry, name: name, fileKey: entry.owner.dropFirst().joined(separator: "/"),
                    count: count, parsed: KerasLayerClasses.parseKey(key), notes: &notes))
        }
        notes.append(
            "Keras 3 layout: layers listed by class, then per-class index (the file does not record "
                + "the order across classes)")
        if !allNamed {
            notes.append(
                "the file does not record layer names: layers are named by their file key "
                    + "(conv2d_3); map them by class and per-class index")
        }
        for link in try keras({ try root.links() }) where ![base, "vars"].contains(link.name) {
            notes.append("top-level group \(quoted(link.name)) ignored (not layer weights)")
        }
        return try KerasWeights(
            layout: .kerasV3, kerasVersion: nil, backend: nil, layers: layers,
            hasLayerNames: allNamed, notes: notes)
    }

    /// The number of variables in a `vars` group, which must hold exactly datasets `0` … `n-1`.
    private func variableCount(_ group: HDF5Group) throws -> Int {
        let links = try keras { try group.links() }
        let datasets = try keras { try group.datasetNames() }
        guard datasets.count == links.count else {
            throw KerasError.malformed(
                path: group.path, reason: "a variable group holds something other than datasets")
        }
        let expected = Set((0..<datasets.count).map(String.init))
        guard Set(datasets) == expected else {
            let listed = datasets.sorted().prefix(5).map(quoted).joined(separator: ", ")
            let reason = "variables must be named 0…\(datasets.count - 1), found \(listed)"
            throw KerasError.malformed(path: group.path, reason: reason)
        }
        return datasets.count
    }

    private func makeLayer(
        _ entry: VariableGroup, name: String, fileKey: String, count: Int,
        parsed: (className: String, index: Int)?, notes: inout [String]
    ) throws -> KerasLayer {
        var className = parsed?.className
        var source: KerasClassSource? = className == nil ? nil : .fileKey
        // The file key is exact; a hint only names classes Graft's key table does not know.
        if className == nil, let hint = options.classHints[name] { (className, source) = (hint, .hint) }
        var canonical = (0..<count).map(String.init)
        if let className = className, let table = KerasLayerClasses.variableNames[className] {
            if let names = table[count] {
                canonical = names
            } else if className == "BatchNormalization", count == 3 {
                notes.append(
                    "layer \(quoted(name)): BatchNormalization with 3 variables (scale or center off); "
                        + "variable names kept positional")
            } else {
                let allowed = table.keys.sorted().map(String.init).joined(separator: " or ")
                throw KerasError.weightCountMismatch(
                    layer: name, reason: "a \(className) has \(allowed) variables, the file holds \(count)")
            }
        }
        let weights = try (0..<count).map { index in
            let dataset = try keras { try entry.group.dataset(String(index)) }
            return try makeWeight(
                layer: name, className: className, name: canonical[index],
                stored: String(index), dataset: dataset)
        }
        return KerasLayer(
            name: name, fileKey: fileKey, className: className, classSource: source,
            classIndex: parsed?.index, weights: weights)
    }
}

/// Orders group paths component by component, comparing `conv2d_10` after `conv2d_9`: a trailing
/// `_<digits>` counter compares as a number after the base name.
func naturalLess(_ a: [String], _ b: [String]) -> Bool {
    for (x, y) in zip(a, b) where x != y {
        let (xBase, xCount) = splitCounter(x)
        let (yBase, yCount) = splitCounter(y)
        if xBase != yBase { return xBase < yBase }
        if xCount != yCount { return xCount < yCount }
        return x < y
    }
    return a.count < b.count
}

private func splitCounter(_ key: String) -> (String, Int) {
    if let underscore = key.lastIndex(of: "_") {
        let digits = key[key.index(after: underscore)...]
        if !digits.isEmpty, digits.count < 18, digits.allSatisfy(\.isASCIIDigit), let n = Int(digits) {
            return (String(key[..<underscore]), n)
        }
    }
    return (key, 0)
}
