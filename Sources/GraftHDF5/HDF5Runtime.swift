@preconcurrency import CHDF5
import GraftCore

/// Process-wide libhdf5 set-up and the conversion of its error stack into `HDF5Error`.
///
/// Two things must hold before Graft asks libhdf5 to read anything:
/// - dynamic filter plugins are off (`H5PLset_loading_state(0)`), so a file naming an unknown
///   filter can never make the library `dlopen` a shared object;
/// - the library does not print its error stack to stderr. Debian's libhdf5 is built thread-safe,
///   and there the automatic printing is a per-thread setting, so `prepare()` turns it off for the
///   calling thread at the start of every operation (a cheap call).
enum HDF5Runtime {
    /// Opens the library once and turns plugin loading off for the whole process.
    private static let initialized: Bool = {
        guard H5open() >= 0 else { return false }
        return H5PLset_loading_state(0) >= 0
    }()

    /// Call first in every operation that reaches libhdf5.
    static func prepare() throws {
        _ = H5Eset_auto2(0 /* H5E_DEFAULT */, nil, nil)
        guard initialized else {
            throw HDF5Error.corrupt(path: "/", operation: "initializing libhdf5", detail: "H5open failed")
        }
    }

    /// Whether libhdf5 would load filter plugins (always false once Graft has initialized it).
    static var pluginLoadingEnabled: Bool {
        _ = try? prepare()
        var state: UInt32 = 1
        guard H5PLget_loading_state(&state) >= 0 else { return true }
        return state != 0
    }

    /// The error libhdf5 left on this thread's stack after a failed call, as an `HDF5Error`, and
    /// the stack cleared. A truncated file is told apart from other damage by the library's
    /// `H5E_TRUNCATED` minor code.
    static func takeError(file: String, path: String, operation: String) -> HDF5Error {
        let collector = ErrorCollector()
        let context = Unmanaged.passUnretained(collector).toOpaque()
        _ = H5Ewalk2(
            0, H5E_WALK_DOWNWARD,
            { _, entry, context in
                guard let entry = entry, let context = context else { return 0 }
                let collector = Unmanaged<ErrorCollector>.fromOpaque(context).takeUnretainedValue()
                collector.add(entry.pointee)
                return 0
            }, context)
        _ = H5Eclear2(0)
        // The walk starts at the API call; the last entry is where libhdf5 found the problem.
        let detail = [collector.messages.first, collector.messages.last].compactMap { $0 }.uniqued().joined(
            separator: ": ")
        if collector.truncated { return .truncated(file: file, detail: detail) }
        if collector.notHDF5 { return .notHDF5(file: file) }
        return .corrupt(path: path, operation: operation, detail: detail)
    }

    /// Collects the error-stack entries during `H5Ewalk2` (the API call first, the innermost last).
    private final class ErrorCollector {
        var messages: [String] = []
        var truncated = false
        var notHDF5 = false

        func add(_ entry: H5E_error2_t) {
            if entry.min_num == H5E_TRUNCATED_g { truncated = true }
            if entry.min_num == H5E_NOTHDF5_g { notHDF5 = true }
            guard messages.count < 64 else { return }
            var text = entry.desc.map { String(cString: $0) } ?? ""
            if text.isEmpty, let minor = minorMessage(entry.min_num) { text = minor }
            if let function = entry.func_name.map({ String(cString: $0) }), !function.isEmpty {
                text = "\(function): \(text)"
            }
            messages.append(String(text.prefix(300)))
        }

        private func minorMessage(_ id: hid_t) -> String? {
            var buffer = [CChar](repeating: 0, count: 256)
            var type = H5E_MINOR
            guard H5Eget_msg(id, &type, &buffer, buffer.count) > 0 else { return nil }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

/// An HDF5 identifier that is released when the last Swift reference goes away.
///
/// libhdf5 keeps a file open while any object in it is open, so holding a group, dataset or the
/// file handle keeps the whole file readable for the lazy tensors that point into it.
///
/// Swift may release a local handle right after its last use, and that use can be the `.id` read
/// just before the C call that needs the identifier open. Functions therefore keep their local
/// handles alive to the end of their scope with `defer { withExtendedLifetime(handle) {} }`.
final class HDF5Handle: @unchecked Sendable {
    let id: hid_t

    init(_ id: hid_t) { self.id = id }

    deinit {
        _ = H5Eset_auto2(0, nil, nil)
        _ = H5Idec_ref(id)
    }
}

/// What every object opened from one file shares: its path for messages, the limits, and the
/// link-access property list that refuses soft and external link traversal.
final class HDF5FileContext: @unchecked Sendable {
    let filePath: String
    let limits: HDF5Limits
    let fileHandle: HDF5Handle
    /// Link access properties used for every lookup: zero soft/user-defined link traversals and an
    /// external-link callback that refuses. Graft checks every link's type before opening it; this
    /// is the second line of defence.
    let linkAccess: HDF5Handle

    init(filePath: String, limits: HDF5Limits, fileHandle: HDF5Handle, linkAccess: HDF5Handle) {
        self.filePath = filePath
        self.limits = limits
        self.fileHandle = fileHandle
        self.linkAccess = linkAccess
        // While libhdf5 may touch this file, a segmentation fault is libhdf5 failing on its bytes.
        ForeignParserFiles.opened(filePath)
    }

    deinit { ForeignParserFiles.closed(filePath) }

    /// `id` if it is a valid identifier, else the library's error as an `HDF5Error`.
    func handle(_ id: hid_t, path: String, operation: String) throws -> HDF5Handle {
        guard id >= 0 else { throw HDF5Runtime.takeError(file: filePath, path: path, operation: operation) }
        return HDF5Handle(id)
    }

    /// Throws the library's error if `status` is negative.
    func check(_ status: herr_t, path: String, operation: String) throws {
        guard status >= 0 else {
            throw HDF5Runtime.takeError(file: filePath, path: path, operation: operation)
        }
    }
}

extension Array where Element: Equatable {
    /// The elements without repeats of an earlier one.
    fileprivate func uniqued() -> [Element] {
        reduce(into: []) { out, e in if !out.contains(e) { out.append(e) } }
    }
}
