import GraftCore
import GraftPickle

/// A storage as the checkpoint declares it: the record key, its dtype and its size.
struct StorageDescriptor: Equatable {
    let key: String
    let dtype: DType
    let elementCount: Int
}

/// What a persistent id points at. Zip and legacy files spell persistent ids differently; each
/// format parses its own and hands the interpreter this.
struct StorageReference {
    let key: String
    /// nil for `torch.UntypedStorage` (`_rebuild_tensor_v3`), whose dtype comes with the tensor.
    let dtype: DType?
    /// Elements for typed storages, bytes for untyped ones (as torch writes them).
    let declaredCount: Int
    /// Legacy storage views (`view_metadata`): the view's start within the root storage, in elements.
    var viewOffset: Int = 0
    var viewCount: Int? = nil
}

/// Resolves a storage to its contiguous little-endian bytes (byte order already fixed).
protocol StorageSource: AnyObject, Sendable {
    func bytes(of storage: StorageDescriptor) throws -> ByteBuffer
}

/// Turns the decoded pickle of a checkpoint into `CheckpointValue`s, interpreting the allowlisted
/// tensor builders (`_rebuild_tensor_v2/_v3`, `_rebuild_parameter`, `_rebuild_from_type_v2`) on data.
///
/// Every number that reaches a tensor (shape, stride, offset, sizes) is validated here, before any
/// byte is read: negative or overflowing values and views that reach past their storage are errors.
final class TensorRebuild {
    private let resolve: (PickleValue) throws -> StorageReference
    private let source: StorageSource
    private let maxRank: Int
    /// Every storage seen so far, to refuse one key declared with two dtypes or two sizes.
    private(set) var storages: [String: StorageDescriptor] = [:]

    init(source: StorageSource, maxRank: Int, resolve: @escaping (PickleValue) throws -> StorageReference) {
        self.source = source
        self.maxRank = maxRank
        self.resolve = resolve
    }

    func interpret(_ value: PickleValue) throws -> CheckpointValue {
        switch value {
        case .dict(let entries):
            return .dict(try entries.map { (key: Self.keyText($0.key), value: try interpret($0.value)) })
        case .tuple(let items), .list(let items), .set(let items):
            return .list(try items.map(interpret))
        case .call(let module, let name, let args):
            return try interpretCall("\(module).\(name)", args)
        case .built(let object, _):
            // BUILD on a tensor or parameter sets Python attributes; the data is the object itself.
            let inner = try interpret(object)
            if case .tensor = inner { return inner }
            return .other(object.kindDescription)
        case .persistentID:
            throw TorchError.invalidPersistentID("a storage appears outside a tensor")
        case .none: return .other("None")
        case .bool(let b): return .other("bool \(b)")
        case .int(let i): return .other("int \(i)")
        case .bigInt: return .other("int (big)")
        case .float(let f): return .other("float \(f)")
        case .string(let s): return .other("str '\(s.prefix(40))'")
        case .bytes(let b): return .other("bytes (\(b.count))")
        case .global(let m, let n): return .other("\(m).\(n)")
        }
    }

    private func interpretCall(_ callee: String, _ args: [PickleValue]) throws -> CheckpointValue {
        switch callee {
        case TorchGlobals.rebuildTensorV2, TorchGlobals.rebuildTensor:
            return .tensor(try tensor(args, dtypeArgument: nil))
        case TorchGlobals.rebuildTensorV3:
            guard args.count >= 7 else { throw TorchError.malformedTensor("_rebuild_tensor_v3 needs 7 arguments") }
            guard let name = args[6].qualifiedName, let dtype = TorchGlobals.dtypeObjects[name] else {
                throw TorchError.unsupportedDType(args[6].qualifiedName ?? args[6].kindDescription)
            }
            return .tensor(try tensor(args, dtypeArgument: dtype))
        case TorchGlobals.rebuildParameter, TorchGlobals.rebuildParameterWithState:
            guard let data = args.first, case .tensor(let t) = try interpret(data) else {
                throw TorchError.malformedTensor("\(callee) does not wrap a tensor")
            }
            return .tensor(t)
        case TorchGlobals.rebuildFromTypeV2:
            // (func, new_type, args, state): a tensor subclass; rebuild the plain tensor with func(args).
            guard args.count >= 3, let fn = args[0].qualifiedName, let inner = args[2].sequenceValue else {
                throw TorchError.malformedTensor("_rebuild_from_type_v2 arguments")
            }
            let newType = args[1].qualifiedName ?? ""
            guard newType == "torch.Tensor" || newType == "torch.nn.parameter.Parameter" else {
                throw TorchError.unsupportedTensorKind(newType)
            }
            return try interpretCall(fn, inner)
        case _ where TorchGlobals.unsupportedTensorBuilders.contains(callee):
            throw TorchError.unsupportedTensorKind(callee)
        default:
            return .other(callee)
        }
    }

    /// `(storage, storage_offset, size, stride, …)` → a lazily materialized tensor.
    private func tensor(_ args: [PickleValue], dtypeArgument: DType?) throws -> LazyTensor {
        guard args.count >= 4, case .persistentID(let pid) = args[0] else {
            throw TorchError.malformedTensor("expected (storage, offset, size, stride, …), got \(args.count) arguments")
        }
        let ref = try resolve(pid)
        let storage = try descriptor(ref, dtypeArgument: dtypeArgument)
        guard let offset = args[1].intValue else { throw TorchError.invalidOffset("not an integer") }
        guard offset >= 0 else { throw TorchError.invalidOffset("\(offset)") }
        let shape = try integers(args[2], what: "size")
        let strides = try integers(args[3], what: "stride")
        guard shape.count == strides.count else {
            throw TorchError.malformedTensor("size has rank \(shape.count), stride has rank \(strides.count)")
        }
        guard shape.count <= maxRank else { throw TorchError.invalidShape("rank \(shape.count) > \(maxRank)") }
        if let d = shape.first(where: { $0 < 0 }) { throw TorchError.invalidShape("negative dimension \(d)") }
        if let s = strides.first(where: { $0 < 0 }) { throw TorchError.invalidStride("negative stride \(s)") }
        guard let count = Checked.elementCount(shape), Checked.mul(count, storage.dtype.itemSize) != nil else {
            throw TorchError.overflow("shape \(shape)")
        }
        let view = try StridedView(
            storage: storage, offset: ref.viewOffset, viewCount: ref.viewCount,
            tensorOffset: offset, shape: shape, strides: strides)
        let source = self.source
        return LazyTensor(dtype: storage.dtype, shape: shape) {
            try view.materialize(from: try source.bytes(of: storage))
        }
    }

    private func descriptor(_ ref: StorageReference, dtypeArgument: DType?) throws -> StorageDescriptor {
        let descriptor: StorageDescriptor
        if let dtype = ref.dtype {
            if let arg = dtypeArgument, arg != dtype {
                throw TorchError.inconsistentStorage("storage '\(ref.key)' is \(dtype) but the tensor says \(arg)")
            }
            descriptor = StorageDescriptor(key: ref.key, dtype: dtype, elementCount: ref.declaredCount)
        } else {
            guard let dtype = dtypeArgument else {
                throw TorchError.malformedTensor("untyped storage '\(ref.key)' without a dtype")
            }
            guard ref.declaredCount % dtype.itemSize == 0 else {
                throw TorchError.inconsistentStorage(
                    "storage '\(ref.key)' holds \(ref.declaredCount) bytes, not a whole number of \(dtype)")
            }
            descriptor = StorageDescriptor(key: ref.key, dtype: dtype, elementCount: ref.declaredCount / dtype.itemSize)
        }
        guard Checked.mul(descriptor.elementCount, descriptor.dtype.itemSize) != nil, descriptor.elementCount >= 0 else {
            throw TorchError.overflow("storage '\(ref.key)' size \(descriptor.elementCount) × \(descriptor.dtype.itemSize)")
        }
        if let seen = storages[ref.key], seen != descriptor {
            throw TorchError.inconsistentStorage(
                "storage '\(ref.key)' declared as \(seen.dtype)×\(seen.elementCount) and \(descriptor.dtype)×\(descriptor.elementCount)")
        }
        storages[ref.key] = descriptor
        return descriptor
    }

    private func integers(_ v: PickleValue, what: String) throws -> [Int] {
        var seq = v.sequenceValue
        // torch.Size(tuple) also appears as a size in older files.
        if seq == nil, case .call("torch", "Size", let args) = v, let inner = args.first { seq = inner.sequenceValue }
        guard let items = seq else { throw TorchError.malformedTensor("\(what) is \(v.kindDescription), not a tuple") }
        return try items.map { item in
            if case .bigInt = item { throw TorchError.overflow("\(what) value beyond 64 bits") }
            guard let i = item.intValue else { throw TorchError.malformedTensor("\(what) holds \(item.kindDescription)") }
            return i
        }
    }

    /// Dict keys as text: strings as they are, integers (optimizer state) in decimal.
    private static func keyText(_ key: PickleValue) -> String {
        switch key {
        case .string(let s): return s
        case .int(let i): return String(i)
        default: return "<\(key.kindDescription)>"
        }
    }
}
