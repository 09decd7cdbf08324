import GraftCore
import GraftHDF5

/// Reads the legacy layout: a `layer_names` attribute on the weights group, one subgroup per
/// layer with a `weight_names` attribute, each name a path to a dataset below the layer's group.
///
/// Mirrors Keras' `load_weights_from_hdf5_group`: attributes split into `layer_names0`,
/// `layer_names1`, … are joined; layers whose `weight_names` is empty are skipped; a missing
/// `keras_version` means Keras 1. Unlike Keras, every name is checked before it is used as a path,
/// and datasets that `weight_names` does not list are an error rather than ignored.
struct KerasLegacyReader {
    let group: HDF5Group
    /// The `model_config` JSON of a full-model file, used only for layer class names and the
    /// classifier's activation.
    let config: String?
    let options: KerasImportOptions

    func read() throws -> KerasWeights {
        let version = try keras { try group.stringAttribute("keras_version") }
        let backend = try keras { try group.stringAttribute("backend") }
        var notes: [String] = []
        if version == nil { notes.append("no keras_version attribute (Keras 1 file)") }
        guard let layerNames = try chunkedNames(group, "layer_names") else {
            throw KerasError.missingAttribute(path: group.path, attribute: "layer_names")
        }
        var configClasses: [String: String] = [:]
        if let config = config {
            if let classes = KerasModelConfig.layerClasses(config) {
                configClasses = classes
            } else {
                notes.append("model_config is not readable JSON; layer classes inferred from weight names")
            }
        }
        var seen: Set<String> = []
        var layers: [KerasLayer] = []
        var guessed: [String] = []
        for name in layerNames {
            guard isValidComponent(name) else { throw KerasError.invalidName(path: group.path, name: name) }
            guard seen.insert(name).inserted else {
                throw KerasError.malformed(
                    path: group.path, reason: "layer_names lists \(quoted(name)) twice")
            }
            guard try keras({ try group.linkKind(name) }) != nil else {
                throw KerasError.malformed(
                    path: group.path, reason: "layer_names lists \(quoted(name)) but it has no group")
            }
            let layerGroup = try keras { try group.group(name) }
            layers += try readLayer(name, layerGroup, configClasses: configClasses, guessed: &guessed)
        }
        if try keras({ try group.linkKind("top_level_model_weights") }) != nil {
            let top = try keras { try group.group("top_level_model_weights") }
            layers += try readLayer("top_level_model_weights", top, configClasses: [:], guessed: &guessed)
        }
        if !guessed.isEmpty {
            let listed =
                guessed.prefix(5).map(quoted).joined(separator: ", ") + (guessed.count > 5 ? ", …" : "")
            notes.append(
                "\(guessed.count) layer classes guessed from the kernel rank (\(listed)): Keras 3 legacy "
                    + "files call a depthwise kernel `kernel` too; pass classHints to be sure")
        }
        return try KerasWeights(
            layout: .legacyH5, kerasVersion: version, backend: backend, layers: layers, hasLayerNames: true,
            notes: notes, classifierActivation: config.flatMap { KerasModelConfig.classifierActivation($0) })
    }

    /// A layer group's weights; usually one layer, several when the group is a nested model whose
    /// weights belong to different sublayers (`inner/d1/kernel`, `inner/d2/kernel`).
    private func readLayer(
        _ name: String, _ layerGroup: HDF5Group, configClasses: [String: String], guessed: inout [String]
    ) throws -> [KerasLayer] {
        guard let weightNames = try chunkedNames(layerGroup, "weight_names") else {
            throw KerasError.missingAttribute(path: layerGroup.path, attribute: "weight_names")
        }
        guard !weightNames.isEmpty else { return [] }
        // Group the weights by owner: the stored name minus its last component.
        var owners: [String] = []
        var byOwner: [String: [(stored: String, dataset: HDF5Dataset)]] = [:]
        for stored in weightNames {
            let components = stored.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard components.allSatisfy(isValidComponent) else {
                throw KerasError.invalidName(path: layerGroup.path, name: stored)
            }
            let dataset: HDF5Dataset
            do {
                guard case .dataset(let d) = try keras({ try layerGroup.member(at: components) }) else {
                    throw KerasError.malformed(
                        path: layerGroup.path, reason: "weight \(quoted(stored)) is not a dataset")
                }
                dataset = d
            } catch KerasError.hdf5(.notFound) {
                throw KerasError.missingWeight(layer: name, weight: stored)
            }
            let owner = components.dropLast().joined(separator: "/")
            if byOwner[owner] == nil { owners.append(owner) }
            byOwner[owner, default: []].append((stored, dataset))
        }
        try checkNoUnlistedDatasets(layerGroup, listed: weightNames.count, layer: name)
        return try owners.map { owner in
            // One owner named like the group is the usual layer; anything else is a nested
            // model's sublayer, named `model/sublayer` as in Keras 3 files.
            let layerName = owners.count == 1 && isSameLayer(owner, name) ? name : "\(name)/\(owner)"
            return try makeLayer(
                layerName, fileKey: name, entries: byOwner[owner] ?? [],
                configClasses: configClasses, guessed: &guessed)
        }
    }

    /// Whether weights owned by `owner` (their name minus the last component) belong to the layer
    /// `layer` itself: the same name, no owner at all, or TensorFlow 1's uniquified scope
    /// `layer_1` (graph-mode Keras reused scopes that way).
    private func isSameLayer(_ owner: String, _ layer: String) -> Bool {
        if owner.isEmpty || owner == layer { return true }
        guard owner.hasPrefix(layer + "_") else { return false }
        let suffix = owner.dropFirst(layer.count + 1)
        return !suffix.isEmpty && suffix.allSatisfy(\.isASCIIDigit)
    }

    private func makeLayer(
        _ layerName: String, fileKey: String, entries: [(stored: String, dataset: HDF5Dataset)],
        configClasses: [String: String], guessed: inout [String]
    ) throws -> KerasLayer {
        var names = entries.map { canonicalName($0.stored) }
        // TensorFlow variable names (`kernel:0`) come from tf.keras, which names a depthwise kernel
        // `depthwise_kernel`: there a 4-D `kernel` is certainly a Conv2D's.
        let tfNames = entries.contains {
            $0.stored.split(separator: "/").last.map(String.init) != canonicalName($0.stored)
        }
        let ranks = entries.map { $0.dataset.shape.count }
        let lastComponent = layerName.split(separator: "/").last.map(String.init) ?? layerName
        let className: String?
        let source: KerasClassSource?
        if let hint = options.classHints[layerName] {
            (className, source) = (hint, .hint)
        } else if let fromConfig = configClasses[lastComponent] {
            (className, source) = (fromConfig, .modelConfig)
        } else if let inferred = KerasLayerClasses.infer(names: names, ranks: ranks) {
            let certain = inferred.certain || tfNames
            (className, source) = (inferred.className, certain ? .weightNames : .kernelRank)
            if !certain { guessed.append(layerName) }
        } else {
            (className, source) = (nil, nil)
        }
        // Keras 3 names a depthwise kernel `kernel`; the canonical name says what it is.
        if className == "DepthwiseConv2D" || className == "DepthwiseConv1D" {
            names = names.map { $0 == "kernel" ? "depthwise_kernel" : $0 }
        }
        let weights = try zip(entries, names).map { entry, canonical in
            try makeWeight(
                layer: layerName, className: className, name: canonical,
                stored: entry.stored, dataset: entry.dataset)
        }
        return KerasLayer(
            name: layerName, fileKey: fileKey, className: className, classSource: source,
            classIndex: nil, weights: weights)
    }

    /// `conv1/kernel:0` → `kernel`.
    private func canonicalName(_ stored: String) -> String {
        var last = stored.split(separator: "/").last.map(String.init) ?? stored
        if let colon = last.lastIndex(of: ":"), last[last.index(after: colon)...].allSatisfy(\.isASCIIDigit),
            colon != last.startIndex
        {
            last = String(last[..<colon])
        }
        return last
    }

    /// Keras writes exactly the datasets it lists; more datasets than names means the group was
    /// edited or crafted, and Graft would rather refuse than pick some of them.
    private func checkNoUnlistedDatasets(_ layerGroup: HDF5Group, listed: Int, layer: String) throws {
        var stored = 0
        try keras {
            stored += try layerGroup.datasetNames().count
            try layerGroup.walkGroups { group, _ in
                stored += try group.datasetNames().count
                return true
            }
        }
        guard stored == listed else {
            throw KerasError.weightCountMismatch(
                layer: layer,
                reason: "weight_names lists \(listed) weights but the group holds \(stored) datasets")
        }
    }

    /// An attribute of names, whole or split into `name0`, `name1`, … (Keras splits attributes
    /// above 64 KB). Nil if neither form is present.
    private func chunkedNames(_ object: HDF5Group, _ attribute: String) throws -> [String]? {
        if let names = try keras({ try object.stringArrayAttribute(attribute) }) { return names }
        var names: [String] = []
        var chunk = 0
        while let part = try keras({ try object.stringArrayAttribute("\(attribute)\(chunk)") }) {
            names += part
            chunk += 1
            guard names.count <= options.limits.maxAttributeElements else {
                throw KerasError.hdf5(
                    .attributeTooLarge(
                        path: object.path, attribute: attribute, size: names.count,
                        limit: options.limits.maxAttributeElements))
            }
        }
        return chunk == 0 ? nil : names
    }
}

/// A layer or weight-path component Keras could have written: not empty, `.` or `..`, no NUL.
func isValidComponent(_ name: String) -> Bool {
    !name.isEmpty && name != "." && name != ".." && !name.utf8.contains(0) && !name.contains("/")
}

/// A `KerasWeight` for `dataset`, with its layout change when the class needs one.
func makeWeight(
    layer: String, className: String?, name: String, stored: String, dataset: HDF5Dataset
) throws -> KerasWeight {
    let raw = try keras { try dataset.lazyTensor(allowIntegers: name == "count") }
    let tensorName = "\(layer)/\(name)"
    let change = try KerasLayout.change(
        className: className, weight: name, shape: raw.shape, tensor: tensorName)
    return KerasWeight(
        name: name, storedName: stored, path: dataset.path, raw: raw,
        tensor: change.map { KerasLayout.apply($0, to: raw) } ?? raw, layoutChange: change)
}
