import GraftNN
import GraftStore

/// Checkpoint files for any module tree — a user's own CNN as much as the zoo's.
extension Module {
    /// Loads a checkpoint (any format Graft reads: torch zip or legacy, safetensors, a Graft store)
    /// into this tree by its state-dict keys. Strict by default, as `load_state_dict`: every missing,
    /// unexpected or mis-shaped key is reported at once in a `LoadError`.
    public func loadCheckpoint(_ path: String, strict: Bool = true) throws {
        let store = try WeightStore.open(path, options: { var o = StoreOpenOptions(); o.hashSource = false; return o }())
        let byName = Dictionary(store.entries.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        let source = StateDictSource(keys: store.entries.map(\.name), shape: { byName[$0]?.shape }, read: { key in
            guard let t = byName[key] else { throw NNError.badArgument("no tensor '\(key)'") }
            return try t.load()
        })
        let report = load(from: source, allowMissing: { _ in !strict }, ignore: { _ in !strict })
        if !report.isClean { throw LoadError(arch: typeName, problems: report.problems) }
    }

    /// Writes the state dict as a PyTorch zip checkpoint: `torch.load(path, weights_only=True)` reads it
    /// and `load_state_dict(strict=True)` accepts it in the PyTorch class of the same structure.
    /// Atomic: the file appears whole or not at all.
    public func saveTorch(to path: String) throws {
        try WeightStore.inMemory(stateDict(), metadata: StoreMetadata()).exportTorch(to: path)
    }

    /// Writes the state dict as a safetensors store with `metadata` (atomic).
    public func saveSafetensors(to path: String, metadata: StoreMetadata = StoreMetadata()) throws {
        _ = try WeightStore.inMemory(stateDict(), metadata: metadata).writeSafetensors(to: path)
    }
}
