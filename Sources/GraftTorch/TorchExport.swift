import GraftCore
import GraftPickle
import GraftZip

/// Writes a state dict as a `torch.save`-style zip archive that `torch.load(path, weights_only=True)`
/// reads back as a dict of tensors with the same names, dtypes, shapes and values.
///
/// Each tensor gets its own storage record `data/<i>`; `data.pkl` is a protocol-2 pickle of
/// `{name: _rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())}`, exactly the calls
/// torch itself writes, so only globals on torch's weights-only allowlist appear.
public enum TorchExporter {
    public static func write(to path: String, tensors: [(name: String, tensor: LazyTensor)]) throws {
        let prefix = archivePrefix(for: path)
        let writer = try ZipWriter(destination: path)
        var items: [PickleDictEntry] = []
        var records: [(name: String, data: ByteBuffer)] = []
        for (index, entry) in tensors.enumerated() {
            let raw = try entry.tensor.load()
            let key = String(index)
            let storage: PickleValue = .persistentID(.tuple([
                .string("storage"), .global(module: "torch", name: raw.dtype.torchStorageName),
                .string(key), .string("cpu"), .int(raw.elementCount),
            ]))
            let call: PickleValue = .call(
                module: "torch._utils", name: "_rebuild_tensor_v2",
                args: [
                    storage, .int(0), .tuple(raw.shape.map { .int($0) }),
                    .tuple(contiguousStrides(raw.shape).map { .int($0) }), .bool(false),
                    .call(module: "collections", name: "OrderedDict", args: []),
                ])
            items.append(PickleDictEntry(key: .string(entry.name), value: call))
            records.append(("\(prefix)/data/\(key)", raw.data))
        }
        let pickle = try PickleWriter().encode(.dict(items))
        try writer.add(name: "\(prefix)/data.pkl", data: ByteBuffer(pickle))
        try writer.add(name: "\(prefix)/.format_version", data: ByteBuffer(Array("1".utf8)))
        try writer.add(name: "\(prefix)/.storage_alignment", data: ByteBuffer(Array("64".utf8)))
        try writer.add(name: "\(prefix)/byteorder", data: ByteBuffer(Array("little".utf8)))
        for record in records { try writer.add(name: record.name, data: record.data) }
        try writer.add(name: "\(prefix)/version", data: ByteBuffer(Array("3\n".utf8)))
        try writer.commit()
    }

    /// torch names the folder after the file: its base name without the last extension.
    static func archivePrefix(for path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? ""
        let stem = base.lastIndex(of: ".").map { String(base[..<$0]) } ?? base
        let safe = stem.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "-_.".unicodeScalars.contains($0)) }
        return stem.isEmpty || !safe ? "archive" : stem
    }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = running
            running *= max(shape[i], 1)
        }
        return strides
    }
}
