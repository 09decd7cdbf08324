import GraftCore

/// A safetensors file mapped read-only, validated whole when opened.
///
/// Tensors are handed out as views into the mapping (no copy) when their data is aligned to their
/// dtype, which is always the case for files Graft writes. Files from writers that do not pad the
/// header (MLX, some third-party shards) may leave a tensor misaligned; such a tensor is copied into
/// an aligned buffer, so a typed load never sees a misaligned address. The mapping stays alive as
/// long as this object or any tensor read from it.
public final class SafetensorsFile: Sendable {
    public let path: String
    public let header: SafetensorsHeader
    private let mapping: MappedFile

    /// Maps and validates the file at `path` (a regular file; FIFOs, devices and folders are refused).
    public init(path: String, limits: SafetensorsLimits = .default) throws {
        self.path = path
        do {
            mapping = try MappedFile(path: path)
        } catch let error as FileError {
            throw SafetensorsError.file(error)
        }
        header = try Safetensors.parse(mapping.bytes, limits: limits)
    }

    /// The `__metadata__` strings.
    public var metadata: [String: String] {
        Dictionary(header.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// The tensor names in file (data offset) order.
    public var names: [String] { header.entries.map(\.name) }

    /// The whole mapped file. Valid while this object lives; tests use it to check that tensors
    /// are views into the mapping rather than copies.
    public var mappedBytes: UnsafeRawBufferPointer { mapping.bytes }

    /// The tensor named `name`: a view into the mapping, or an aligned copy when the file places
    /// its data at an address that is not a multiple of the dtype's size.
    public func tensor(named name: String) throws -> RawTensor {
        guard let entry = header.entry(named: name) else {
            throw SafetensorsError.tensorNotFound(name: excerpt(name))
        }
        // Parsing proved that the range lies inside the file and matches the dtype and shape, so
        // nothing below can fail; a failure is still reported, never trapped on.
        let unreadable = SafetensorsError.invalidEntry(
            tensor: excerpt(name), reason: "its data range does not match the file")
        guard let offset = Checked.add(header.dataStart, entry.dataRange.lowerBound),
              let window = try? mapping.buffer(offset: offset, count: entry.dataRange.count)
        else { throw unreadable }
        let data = window.isAligned(to: entry.dtype.itemSize) ? window : ByteBuffer(copying: window.bytes)
        guard let tensor = try? RawTensor(dtype: entry.dtype, shape: entry.shape, data: data) else {
            throw unreadable
        }
        return tensor
    }
}
