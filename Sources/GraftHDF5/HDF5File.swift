@preconcurrency import CHDF5
import GraftCore

/// An HDF5 file opened read-only through libhdf5, with every lookup guarded.
///
/// Opening checks that the input is a regular file carrying the HDF5 signature before libhdf5 sees
/// it, so a FIFO, a device or a random file gets a precise error instead of a library message.
/// Objects are reached one link at a time from `root`; soft, external and user-defined links are
/// refused, and so are datasets whose bytes live outside the file. Nothing here loads a plugin or
/// prints to stderr.
///
/// The file stays open while this object, or any group, dataset or lazy tensor from it, is alive.
public final class HDF5File: @unchecked Sendable {
    /// The path the file was opened from.
    public let path: String
    public let limits: HDF5Limits
    /// The root group `/`.
    public let root: HDF5Group

    /// Opens `path` read-only. Throws `HDF5Error.file` for a missing or non-regular file,
    /// `.notHDF5` without the signature, `.truncated` for a cut file, `.corrupt` otherwise.
    public init(path: String, limits: HDF5Limits = .default) throws {
        try HDF5Runtime.prepare()
        try Self.checkSignature(path)
        // libhdf5 reads the superblock in H5Fopen already (the context registers the file after that).
        ForeignParserFiles.opened(path)
        defer { ForeignParserFiles.closed(path) }
        let fileAccess = HDF5Handle(H5Pcreate(H5P_CLS_FILE_ACCESS_ID_g))
        defer { withExtendedLifetime(fileAccess) {} }
        // The plain POSIX driver, whatever the environment asks for, and no advisory lock (Graft
        // only reads, and flock fails on some file systems).
        guard fileAccess.id >= 0, H5Pset_fapl_sec2(fileAccess.id) >= 0 else {
            throw HDF5Runtime.takeError(file: path, path: "/", operation: "creating file access properties")
        }
        _ = H5Pset_file_locking(fileAccess.id, false, true)
        let fileID = H5Fopen(path, 0 /* H5F_ACC_RDONLY */, fileAccess.id)
        guard fileID >= 0 else {
            throw HDF5Runtime.takeError(file: path, path: "/", operation: "opening the file")
        }
        let fileHandle = HDF5Handle(fileID)
        let context = HDF5FileContext(
            filePath: path, limits: limits, fileHandle: fileHandle, linkAccess: try Self.makeLinkAccess(path))
        let rootID = H5Oopen(fileID, "/", context.linkAccess.id)
        let rootHandle = try context.handle(rootID, path: "/", operation: "opening the root group")
        self.path = path
        self.limits = limits
        self.root = HDF5Group(handle: rootHandle, path: "/", depth: 0, context: context)
    }

    /// Whether libhdf5 in this process would load dynamic filter plugins. Graft turns this off
    /// before its first read, so it is false once any `HDF5File` has been opened.
    public static var pluginLoadingEnabled: Bool { HDF5Runtime.pluginLoadingEnabled }

    /// The 8-byte HDF5 signature. A file may start with a user block, so the library also looks
    /// at offsets 512, 1024, 2048, …; Graft accepts the same places.
    static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Whether `bytes` carry the HDF5 signature at offset 0 or at a power of two from 512.
    public static func hasSignature(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while let end = Checked.add(offset, 8), end <= bytes.count {
            if bytes[offset..<end].elementsEqual(signature) { return true }
            offset = offset == 0 ? 512 : (Checked.mul(offset, 2) ?? Int.max)
        }
        return false
    }

    private static func checkSignature(_ path: String) throws {
        let mapped: MappedFile
        do {
            mapped = try MappedFile(path: path)
        } catch let error as FileError {
            throw HDF5Error.file(error)
        }
        // Keep the mapping alive while its bytes are read: Swift may release `mapped` right after
        // its last use, which would unmap the bytes under `hasSignature`.
        let found = withExtendedLifetime(mapped) { hasSignature(mapped.bytes) }
        guard found else { throw HDF5Error.notHDF5(file: path) }
    }

    /// Link access properties that refuse every soft, external and user-defined link traversal.
    private static func makeLinkAccess(_ path: String) throws -> HDF5Handle {
        let id = H5Pcreate(H5P_CLS_LINK_ACCESS_ID_g)
        guard id >= 0 else {
            throw HDF5Runtime.takeError(file: path, path: "/", operation: "creating link access properties")
        }
        let handle = HDF5Handle(id)
        let refuseExternal: H5L_elink_traverse_t = { _, _, _, _, _, _, _ in -1 }
        guard H5Pset_elink_cb(id, refuseExternal, nil) >= 0 else {
            throw HDF5Runtime.takeError(
                file: path, path: "/", operation: "setting the external link callback")
        }
        return handle
    }
}
