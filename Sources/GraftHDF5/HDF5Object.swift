@preconcurrency import CHDF5
import GraftCore

#if canImport(Glibc)
    import Glibc
#endif

/// What groups and datasets share: their path, their identity in the file, and their attributes.
public class HDF5Object: @unchecked Sendable {
    let handle: HDF5Handle
    /// The HDF5 path this object was reached by (`/layers/conv2d/vars`).
    public let path: String
    let context: HDF5FileContext

    init(handle: HDF5Handle, path: String, context: HDF5FileContext) {
        self.handle = handle
        self.path = path
        self.context = context
    }

    /// The path of the file this object belongs to.
    public var filePath: String { context.filePath }
    public var limits: HDF5Limits { context.limits }

    /// The object's header address: the same object reached through two hard links has the same
    /// address, which is how walks notice cycles.
    public func address() throws -> UInt {
        try HDF5Runtime.prepare()
        var info = H5O_info_t()
        try context.check(
            H5Oget_info2(handle.id, &info, UInt32(H5O_INFO_BASIC)), path: path,
            operation: "reading object info")
        return info.addr
    }

    /// The names of this object's attributes, in name order.
    public func attributeNames() throws -> [String] {
        try HDF5Runtime.prepare()
        var info = H5O_info_t()
        try context.check(
            H5Oget_info2(handle.id, &info, UInt32(H5O_INFO_NUM_ATTRS)), path: path,
            operation: "reading object info")
        guard let count = Int(exactly: info.num_attrs), count <= context.limits.maxObjects else {
            throw HDF5Error.tooManyObjects(path: path, limit: context.limits.maxObjects)
        }
        var names: [String] = []
        for index in 0..<count {
            let length = H5Aget_name_by_idx(
                handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(index), nil, 0, 0)
            try context.check(length < 0 ? -1 : 0, path: path, operation: "reading attribute names")
            guard length <= context.limits.maxNameBytes else {
                throw HDF5Error.attributeTooLarge(
                    path: path, attribute: "(name)", size: length, limit: context.limits.maxNameBytes)
            }
            var buffer = [CChar](repeating: 0, count: length + 1)
            let written = H5Aget_name_by_idx(
                handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(index), &buffer, buffer.count, 0)
            try context.check(written < 0 ? -1 : 0, path: path, operation: "reading attribute names")
            let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                throw HDF5Error.attributeNotUTF8(
                    path: path, attribute: String(decoding: bytes, as: UTF8.self))
            }
            names.append(name)
        }
        return names
    }

    /// Whether this object has an attribute called `name`.
    public func hasAttribute(_ name: String) throws -> Bool {
        try HDF5Runtime.prepare()
        guard !name.utf8.contains(0) else { return false }
        let found = H5Aexists(handle.id, name)
        try context.check(found, path: path, operation: "looking up attribute \(quoted(name))")
        return found > 0
    }

    /// A short description of the attribute's type and shape (`variable-length string [4]`), or
    /// nil if there is no such attribute. For messages and inspection.
    public func attributeDescription(_ name: String) throws -> String? {
        guard try hasAttribute(name) else { return nil }
        let attribute = try openAttribute(name)
        defer { withExtendedLifetime(attribute) {} }
        let type = try context.handle(
            H5Aget_type(attribute.id), path: path, operation: "reading attribute type")
        defer { withExtendedLifetime(type) {} }
        let space = try context.handle(
            H5Aget_space(attribute.id), path: path, operation: "reading attribute shape")
        defer { withExtendedLifetime(space) {} }
        return "\(HDF5Datatype.describe(type.id)) \(try shape(of: space.id, attribute: name))"
    }

    /// The attribute `name` as a list of strings, or nil if the object has no such attribute.
    ///
    /// Reads what h5py writes for `str`, `bytes`, lists of either and numpy `S`/`U`-style arrays:
    /// fixed- or variable-length strings, ASCII or UTF-8, a scalar or one dimension. Every string
    /// must be UTF-8. An attribute with no elements is an empty list whatever its type, because
    /// h5py stores an empty Python list as an empty float64 array (Keras' `weight_names` of a
    /// layer without weights). Other types are `HDF5Error.attributeType`.
    ///
    /// Fixed-length data is checked against `maxAttributeBytes` before it is read; variable-length
    /// strings live in the file's global heap, whose lengths libhdf5 reveals only by reading, so
    /// their element count is checked first and their total length after.
    public func stringArrayAttribute(_ name: String) throws -> [String]? {
        guard try hasAttribute(name) else { return nil }
        let attribute = try openAttribute(name)
        defer { withExtendedLifetime(attribute) {} }
        let space = try context.handle(
            H5Aget_space(attribute.id), path: path, operation: "reading attribute shape")
        defer { withExtendedLifetime(space) {} }
        let shape = try shape(of: space.id, attribute: name)
        guard let count = Checked.elementCount(shape) else {
            throw HDF5Error.attributeType(path: path, attribute: name, found: "an array of impossible size")
        }
        if count == 0 || H5Sget_simple_extent_type(space.id) == H5S_NULL { return [] }
        let type = try context.handle(
            H5Aget_type(attribute.id), path: path, operation: "reading attribute type")
        defer { withExtendedLifetime(type) {} }
        guard H5Tget_class(type.id) == H5T_STRING, shape.count <= 1 else {
            throw HDF5Error.attributeType(
                path: path, attribute: name, found: "\(HDF5Datatype.describe(type.id)) \(shape)")
        }
        guard count <= context.limits.maxAttributeElements else {
            throw HDF5Error.attributeTooLarge(
                path: path, attribute: name, size: count, limit: context.limits.maxAttributeElements)
        }
        let raw: [[UInt8]]
        if H5Tis_variable_str(type.id) > 0 {
            raw = try readVariableStrings(attribute, type: type, count: count, name: name)
        } else {
            raw = try readFixedStrings(attribute, type: type, count: count, name: name)
        }
        return try raw.map { bytes in
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw HDF5Error.attributeNotUTF8(path: path, attribute: name)
            }
            return text
        }
    }

    /// The attribute `name` as one string (a scalar or a one-element array), or nil if absent.
    public func stringAttribute(_ name: String) throws -> String? {
        guard let values = try stringArrayAttribute(name) else { return nil }
        guard values.count == 1 else {
            throw HDF5Error.attributeType(
                path: path, attribute: name, found: "a list of \(values.count) strings")
        }
        return values[0]
    }

    // MARK: - Internals

    private func openAttribute(_ name: String) throws -> HDF5Handle {
        try context.handle(
            H5Aopen(handle.id, name, 0), path: path, operation: "opening attribute \(quoted(name))")
    }

    private func shape(of space: hid_t, attribute: String) throws -> [Int] {
        let rank = H5Sget_simple_extent_ndims(space)
        try context.check(rank < 0 ? -1 : 0, path: path, operation: "reading attribute shape")
        guard rank <= 32 else {
            throw HDF5Error.attributeType(
                path: path, attribute: attribute, found: "a \(rank)-dimensional array")
        }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        if rank > 0 {
            try context.check(
                H5Sget_simple_extent_dims(space, &dims, nil), path: path, operation: "reading attribute shape"
            )
        }
        return try dims.map { d in
            guard let v = Int(exactly: d) else {
                throw HDF5Error.attributeTooLarge(
                    path: path, attribute: attribute, size: Int.max, limit: Int.max)
            }
            return v
        }
    }

    private func readFixedStrings(
        _ attribute: HDF5Handle, type: HDF5Handle, count: Int, name: String
    ) throws -> [[UInt8]] {
        let size = H5Tget_size(type.id)
        guard size > 0, let width = Int(exactly: size), let total = Checked.mul(width, count) else {
            throw HDF5Error.attributeType(path: path, attribute: name, found: "a string type of size \(size)")
        }
        guard total <= context.limits.maxAttributeBytes else {
            throw HDF5Error.attributeTooLarge(
                path: path, attribute: name, size: total, limit: context.limits.maxAttributeBytes)
        }
        let memoryType = try context.handle(H5Tcopy(type.id), path: path, operation: "copying a string type")
        defer { withExtendedLifetime(memoryType) {} }
        var buffer = [UInt8](repeating: 0, count: total)
        try context.check(
            H5Aread(attribute.id, memoryType.id, &buffer), path: path,
            operation: "reading attribute \(quoted(name))")
        let padding = H5Tget_strpad(type.id)
        return (0..<count).map { i in
            var field = Array(buffer[(i * width)..<((i + 1) * width)])
            switch padding {
            case H5T_STR_NULLTERM:
                if let end = field.firstIndex(of: 0) { field.removeSubrange(end...) }
            case H5T_STR_SPACEPAD:
                while field.last == 0x20 { field.removeLast() }
            default:  // null-padded: trailing NULs only, as numpy reads an `S` array
                while field.last == 0 { field.removeLast() }
            }
            return field
        }
    }

    private func readVariableStrings(
        _ attribute: HDF5Handle, type: HDF5Handle, count: Int, name: String
    ) throws -> [[UInt8]] {
        // The attribute's own (variable-length, memory-located) string type: no conversion.
        let memoryType = try context.handle(H5Tcopy(type.id), path: path, operation: "copying a string type")
        defer { withExtendedLifetime(memoryType) {} }
        var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        try context.check(
            H5Aread(attribute.id, memoryType.id, &pointers), path: path,
            operation: "reading attribute \(quoted(name))")
        defer { for p in pointers where p != nil { H5free_memory(p) } }
        var total = 0
        var values: [[UInt8]] = []
        values.reserveCapacity(count)
        for pointer in pointers {
            guard let pointer = pointer else {
                values.append([])
                continue
            }
            let length = strlen(pointer)
            total = Checked.add(total, length) ?? Int.max
            guard total <= context.limits.maxAttributeBytes else {
                throw HDF5Error.attributeTooLarge(
                    path: path, attribute: name, size: total, limit: context.limits.maxAttributeBytes)
            }
            values.append(Array(UnsafeRawBufferPointer(start: pointer, count: length)))
        }
        return values
    }
}
