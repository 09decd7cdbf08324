@preconcurrency import CHDF5
import GraftCore

#if canImport(Glibc)
    import Glibc
#endif

/// How a group member is linked. Only hard links are ever followed.
public enum HDF5LinkKind: String, Sendable, Equatable {
    case hard
    case soft
    case external
    case userDefined = "user-defined"
}

/// One member of a group, as its link says (the object behind it is not opened).
public struct HDF5Link: Sendable, Equatable {
    public let name: String
    public let kind: HDF5LinkKind
}

/// The order `HDF5Group.links` lists members in.
public enum HDF5IterationOrder: Sendable {
    /// Creation order when the group tracks it (h5py does so only with `track_order=True`),
    /// otherwise name order.
    case creationIfTracked
    /// Byte-wise name order (what h5py shows).
    case name
}

/// A group opened through a hard link.
public final class HDF5Group: HDF5Object, @unchecked Sendable {
    /// How many groups lie between this one and the root (0 for the root).
    public let depth: Int

    init(handle: HDF5Handle, path: String, depth: Int, context: HDF5FileContext) {
        self.depth = depth
        super.init(handle: handle, path: path, context: context)
    }

    /// The members of this group, without opening them. Fails if the group holds more than
    /// `maxObjects` links or a name is longer than `maxNameBytes` or not UTF-8.
    public func links(order: HDF5IterationOrder = .name) throws -> [HDF5Link] {
        try HDF5Runtime.prepare()
        if order == .creationIfTracked, try tracksCreationOrder() {
            if let links = try? iterate(index: H5_INDEX_CRT_ORDER) { return links }
            _ = H5Eclear2(0)
        }
        return try iterate(index: H5_INDEX_NAME)
    }

    /// Whether a link of this name exists (any kind; nothing is followed).
    public func contains(_ name: String) throws -> Bool {
        try HDF5Runtime.prepare()
        try validate(name)
        let found = H5Lexists(handle.id, name, context.linkAccess.id)
        try context.check(found, path: childPath(name), operation: "looking up the link")
        return found > 0
    }

    /// The kind of the link `name`, or nil if there is none.
    public func linkKind(_ name: String) throws -> HDF5LinkKind? {
        guard try contains(name) else { return nil }
        var info = H5L_info_t()
        try context.check(
            H5Lget_info(handle.id, name, &info, context.linkAccess.id),
            path: childPath(name), operation: "reading the link")
        return Self.kind(info.type)
    }

    /// The object behind the hard link `name`: a group, a dataset, or `.other` (a committed
    /// datatype). Soft, external and user-defined links are refused.
    public func member(_ name: String) throws -> HDF5Member {
        let path = childPath(name)
        guard let kind = try linkKind(name) else { throw HDF5Error.notFound(path: path) }
        guard kind == .hard else { throw HDF5Error.linkNotAllowed(path: path, kind: kind.rawValue) }
        let object = try context.handle(
            H5Oopen(handle.id, name, context.linkAccess.id), path: path, operation: "opening the object")
        defer { withExtendedLifetime(object) {} }
        switch H5Iget_type(object.id) {
        case H5I_GROUP:
            guard depth < context.limits.maxDepth else {
                throw HDF5Error.depthLimit(path: path, limit: context.limits.maxDepth)
            }
            return .group(HDF5Group(handle: object, path: path, depth: depth + 1, context: context))
        case H5I_DATASET:
            return .dataset(try HDF5Dataset(opening: object, path: path, context: context))
        default:
            return .other(path: path, kind: "committed datatype")
        }
    }

    /// The subgroup behind the hard link `name`.
    public func group(_ name: String) throws -> HDF5Group {
        switch try member(name) {
        case .group(let g): return g
        case .dataset(let d):
            throw HDF5Error.wrongObjectType(path: d.path, expected: "group", found: "dataset")
        case .other(let p, let kind): throw HDF5Error.wrongObjectType(path: p, expected: "group", found: kind)
        }
    }

    /// The dataset behind the hard link `name`.
    public func dataset(_ name: String) throws -> HDF5Dataset {
        switch try member(name) {
        case .dataset(let d): return d
        case .group(let g): throw HDF5Error.wrongObjectType(path: g.path, expected: "dataset", found: "group")
        case .other(let p, let kind):
            throw HDF5Error.wrongObjectType(path: p, expected: "dataset", found: kind)
        }
    }

    /// Follows `components` one hard link at a time (each checked as by `member`).
    public func member(at components: [String]) throws -> HDF5Member {
        guard let last = components.last else { return .group(self) }
        var group = self
        for name in components.dropLast() { group = try group.group(name) }
        return try group.member(last)
    }

    /// The path of the child `name` of this group, for messages.
    public func childPath(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    // MARK: - Internals

    /// Names used for lookups must be single, plain link names: libhdf5 would read `a/b` as a
    /// path and `.` as the group itself.
    func validate(_ name: String) throws {
        let bad = name.isEmpty || name == "." || name == ".." || name.utf8.contains(0) || name.contains("/")
        if bad || name.utf8.count > context.limits.maxNameBytes {
            throw HDF5Error.invalidName(path: path, name: name)
        }
    }

    private func tracksCreationOrder() throws -> Bool {
        let plist = try context.handle(
            H5Gget_create_plist(handle.id), path: path, operation: "reading group properties")
        defer { withExtendedLifetime(plist) {} }
        var flags: UInt32 = 0
        try context.check(
            H5Pget_link_creation_order(plist.id, &flags), path: path, operation: "reading group properties")
        return flags & 0x1 != 0  // H5P_CRT_ORDER_TRACKED
    }

    private func iterate(index: H5_index_t) throws -> [HDF5Link] {
        let collector = LinkCollector(
            limit: context.limits.maxObjects, maxNameBytes: context.limits.maxNameBytes)
        let opaque = Unmanaged.passUnretained(collector).toOpaque()
        var position: hsize_t = 0
        let status = H5Literate(
            handle.id, index, H5_ITER_INC, &position,
            { _, name, info, context in
                guard let name = name, let info = info, let context = context else { return -1 }
                return Unmanaged<LinkCollector>.fromOpaque(context).takeUnretainedValue().add(
                    name, info.pointee.type)
            }, opaque)
        if collector.overflow { throw HDF5Error.tooManyObjects(path: path, limit: context.limits.maxObjects) }
        if let bad = collector.badName { throw HDF5Error.invalidName(path: path, name: bad) }
        try context.check(status, path: path, operation: "listing the group")
        return collector.links
    }

    static func kind(_ type: H5L_type_t) -> HDF5LinkKind {
        switch type {
        case H5L_TYPE_HARD: return .hard
        case H5L_TYPE_SOFT: return .soft
        case H5L_TYPE_EXTERNAL: return .external
        default: return .userDefined
        }
    }

    /// Receives links during `H5Literate`; returning 1 stops the iteration early.
    private final class LinkCollector {
        let limit: Int
        let maxNameBytes: Int
        var links: [HDF5Link] = []
        var overflow = false
        var badName: String?

        init(limit: Int, maxNameBytes: Int) {
            self.limit = limit
            self.maxNameBytes = maxNameBytes
        }

        func add(_ cName: UnsafePointer<CChar>, _ type: H5L_type_t) -> herr_t {
            guard links.count < limit else {
                overflow = true
                return 1
            }
            let length = strnlen(cName, maxNameBytes == Int.max ? Int.max : maxNameBytes + 1)
            let bytes = UnsafeRawBufferPointer(start: cName, count: length)
            guard length <= maxNameBytes, let name = String(validating: bytes, as: UTF8.self) else {
                badName = String(decoding: bytes.prefix(200), as: UTF8.self)
                return 1
            }
            links.append(HDF5Link(name: name, kind: HDF5Group.kind(type)))
            return 0
        }
    }
}

/// An object reached through a hard link.
public enum HDF5Member {
    case group(HDF5Group)
    case dataset(HDF5Dataset)
    /// Something else (a committed datatype); `kind` says what.
    case other(path: String, kind: String)
}
