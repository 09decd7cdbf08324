import GraftCore

/// The globals a checkpoint pickle may name. It is an allowlist: any other `module.name` stops the
/// decoding at the GLOBAL opcode with an error that names it (`os.system`, `argparse.Namespace`, a
/// model class pickled by `torch.save(model)` …). Nothing on this list is ever called: the pickle
/// machine records calls as data and `TensorRebuild` interprets the few tensor builders.
enum TorchGlobals {
    // (Exposed read-only as `TorchCheckpoint.allowedGlobals`.)
    static let rebuildTensorV2 = "torch._utils._rebuild_tensor_v2"
    static let rebuildTensorV3 = "torch._utils._rebuild_tensor_v3"
    static let rebuildTensor = "torch._utils._rebuild_tensor"
    static let rebuildParameter = "torch._utils._rebuild_parameter"
    static let rebuildParameterWithState = "torch._utils._rebuild_parameter_with_state"
    static let rebuildFromTypeV2 = "torch._tensor._rebuild_from_type_v2"

    /// Tensor kinds Graft recognizes in order to refuse them by name rather than as unknown globals.
    static let unsupportedTensorBuilders: Set<String> = [
        "torch._utils._rebuild_qtensor", "torch._utils._rebuild_sparse_tensor",
        "torch._utils._rebuild_sparse_csr_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
        "torch._utils._rebuild_wrapper_subclass", "torch._utils._rebuild_nested_tensor",
        "torch._utils._rebuild_device_tensor_from_numpy", "torch._utils._rebuild_device_tensor_from_cpu_tensor",
    ]

    static let unsupportedStorages: Set<String> = [
        "torch.ComplexFloatStorage", "torch.ComplexDoubleStorage", "torch.QInt8Storage", "torch.QUInt8Storage",
        "torch.QInt32Storage", "torch.QUInt4x2Storage", "torch.QUInt2x4Storage",
    ]

    /// `torch.<dtype>` objects `_rebuild_tensor_v3` receives, with their torch aliases.
    static let dtypeObjects: [String: DType] = {
        var map: [String: DType] = [:]
        for d in DType.allCases { map["torch.\(d.torchDTypeName)"] = d }
        let aliases: [String: DType] = [
            "torch.float": .float32, "torch.half": .float16, "torch.double": .float64,
            "torch.long": .int64, "torch.int": .int32, "torch.short": .int16,
        ]
        map.merge(aliases) { a, _ in a }
        return map
    }()

    static let allowed: Set<String> = {
        var names: Set<String> = [
            "collections.OrderedDict",
            rebuildTensorV2, rebuildTensorV3, rebuildTensor, rebuildParameter, rebuildParameterWithState,
            rebuildFromTypeV2,
            "torch.UntypedStorage", "torch.Size", "torch.device", "torch.Tensor", "torch.nn.parameter.Parameter",
            "torch.serialization._get_layout", "torch.strided",
            "_codecs.encode", "builtins.set", "builtins.frozenset",
            // numpy scalars and arrays that training scripts store beside the weights (best accuracy …):
            // kept as inert records and dropped by normalization with a note.
            "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.dtype",
            "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray",
        ]
        for d in DType.allCases { names.insert("torch.\(d.torchStorageName)") }
        names.formUnion(dtypeObjects.keys)
        names.formUnion(unsupportedTensorBuilders)
        names.formUnion(unsupportedStorages)
        return names
    }()
}
