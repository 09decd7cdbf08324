@preconcurrency import CHDF5

extension HDF5Group {
    /// Visits every group below this one, depth-first, children in `order`.
    ///
    /// `visit` gets each group with its path relative to this one (`["conv2d", "vars"]`) and
    /// returns whether to descend into it. The walk is bounded: only hard links are followed (any
    /// other link is `HDF5Error.linkNotAllowed`), nesting stops at `maxDepth`, at most `maxObjects`
    /// links are looked at, and a group reached a second time (a hard-link cycle or a shared
    /// group) is `HDF5Error.linkCycle` — so a hostile file cannot make the walk loop or explode.
    public func walkGroups(
        order: HDF5IterationOrder = .name,
        _ visit: (HDF5Group, [String]) throws -> Bool
    ) throws {
        var state = WalkState(limit: context.limits.maxObjects)
        state.visited.insert(try address())
        try walk(relative: [], order: order, state: &state, visit)
    }

    private struct WalkState {
        let limit: Int
        var seen = 0
        var visited: Set<UInt> = []
    }

    private func walk(
        relative: [String], order: HDF5IterationOrder, state: inout WalkState,
        _ visit: (HDF5Group, [String]) throws -> Bool
    ) throws {
        for link in try links(order: order) {
            state.seen += 1
            guard state.seen <= state.limit else {
                throw HDF5Error.tooManyObjects(path: path, limit: state.limit)
            }
            let childPath = childPath(link.name)
            guard link.kind == .hard else {
                throw HDF5Error.linkNotAllowed(path: childPath, kind: link.kind.rawValue)
            }
            guard try objectType(link.name) == H5O_TYPE_GROUP else { continue }
            let child = try group(link.name)
            guard state.visited.insert(try child.address()).inserted else {
                throw HDF5Error.linkCycle(path: childPath)
            }
            let childRelative = relative + [link.name]
            if try visit(child, childRelative) {
                try child.walk(relative: childRelative, order: order, state: &state, visit)
            }
        }
    }

    /// The type of the object behind the hard link `name`, without opening it.
    func objectType(_ name: String) throws -> H5O_type_t {
        try HDF5Runtime.prepare()
        try validate(name)
        var info = H5O_info_t()
        try context.check(
            H5Oget_info_by_name2(handle.id, name, &info, UInt32(H5O_INFO_BASIC), context.linkAccess.id),
            path: childPath(name), operation: "reading object info")
        return info.type
    }
}

extension HDF5Group {
    /// The names of the datasets directly in this group (nothing is opened). Any link that is
    /// not a hard link is `HDF5Error.linkNotAllowed`.
    public func datasetNames(order: HDF5IterationOrder = .name) throws -> [String] {
        var names: [String] = []
        for link in try links(order: order) {
            guard link.kind == .hard else {
                throw HDF5Error.linkNotAllowed(path: childPath(link.name), kind: link.kind.rawValue)
            }
            if try objectType(link.name) == H5O_TYPE_DATASET { names.append(link.name) }
        }
        return names
    }
}
