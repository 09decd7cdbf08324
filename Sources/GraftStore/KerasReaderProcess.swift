import Foundation
import GraftCore
import GraftSafetensors

/// Keras HDF5 files read by libhdf5 in a child process under a watchdog (issue 16).
///
/// libhdf5 is C code that loops forever or faults on some corrupt files (fuzzing found dozens), and
/// no check before the call can tell which. So when configured (the `graft` CLI does this at start),
/// `WeightStore.open` runs the HDF5 part of a Keras import in a child: the same executable with a
/// hidden subcommand, which limits its own memory and CPU time, reads the file in-process as before,
/// and writes what it read (tensors in Graft's layout, the store metadata) as a safetensors file into
/// a descriptor the parent passed it. The parent waits at most `GRAFT_HDF5_TIMEOUT` seconds, SIGKILLs
/// a child that takes longer, and maps the safetensors file (parsed with Graft's own checks). Every
/// way the child can end becomes a `KerasReaderProcessError`; a refusal the child's reader made (a
/// typed Keras or HDF5 error) comes back word for word. The output file is unlinked before the child
/// starts, so no ending of either process leaves it behind. Without configuration (library use,
/// unit tests) the file is read in-process.
public enum KerasReaderProcess {
    /// The seconds the child may take (default 60).
    public static let timeoutVariable = "GRAFT_HDF5_TIMEOUT"
    /// The address space in MiB the child may map beyond what it has at start-up, when it sets its
    /// limits (default 4096 plus twice the file's size).
    public static let memoryVariable = "GRAFT_HDF5_MEMORY_MB"
    static let defaultTimeout = 60.0

    struct Launch: Sendable {
        let executable: String
        let arguments: [String]
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var launch: Launch?

    /// Reads every Keras file from now on by running `executable arguments… --memory-mb M
    /// --cpu-seconds S --parent PID -- FILE OUTPUT`, a command that calls `runChild`.
    public static func configure(executable: String, arguments: [String]) {
        lock.withLock { launch = Launch(executable: executable, arguments: arguments) }
    }

    static var configured: Launch? { lock.withLock { launch } }

    /// Reads `path` in a child process and returns the store the in-process reader would have built.
    /// With `readsData` false the child reads names, dtypes and shapes only and every tensor's `load`
    /// throws `dataNotRead`.
    static func open(_ path: String, launch: Launch, hash: SourceHash?, readsData: Bool = true) throws -> WeightStore {
        let timeout = try setting(timeoutVariable, default: defaultTimeout, range: 0.1...86_400)
        let fileMiB = Double((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) / 1_048_576
        let memoryMiB = Int(try setting(memoryVariable, default: 4096 + 2 * fileMiB.rounded(.up), range: 64...1_073_741_824))
        let output = try anonymousFile()
        defer { close(output) }
        let arguments = launch.arguments + [
            "--memory-mb", "\(memoryMiB)", "--cpu-seconds", "\(Int(timeout.rounded(.up)) + 5)",
            "--parent", "\(getpid())",
        ] + (readsData ? [] : ["--shapes-only"]) + ["--", path, "/proc/self/fd/3"]
        let outcome = try WatchedProcess.run(
            executable: launch.executable, arguments: arguments, passing: [(output, 3)], timeout: timeout)
        let message = String(decoding: outcome.stderr, as: UTF8.self)
        switch outcome.ending {
        case .exited(0): break
        case .exited(2) where !message.isEmpty:
            throw KerasReaderProcessError.refused(message.hasSuffix("\n") ? String(message.dropLast()) : message)
        case .exited(let code):
            throw KerasReaderProcessError.failed(code: code, stderr: message.split(separator: "\n").first.map(String.init) ?? "")
        case .signaled(let signal):
            throw KerasReaderProcessError.crashed(signal: signal, memoryMiB: memoryMiB)
        case .timedOut:
            throw KerasReaderProcessError.timedOut(seconds: timeout)
        }
        return try store(readingChildOutput: output, source: path, hash: hash, readsData: readsData)
    }

    /// The child's safetensors file as a Keras store: tensors in the in-process reader's order, its
    /// metadata as that reader records it (the order and `format` keys belong to the file only).
    private static func store(readingChildOutput fd: Int32, source: String, hash: SourceHash?, readsData: Bool) throws -> WeightStore {
        let file: SafetensorsFile
        do {
            // The mapping outlives the descriptor; the tensors are views into it.
            file = try SafetensorsFile(path: "/proc/self/fd/\(fd)")
        } catch {
            throw KerasReaderProcessError.badOutput("\(error)")
        }
        var metadata = StoreMetadata(decoding: file.metadata)
        var entries = file.header.entries.map { e in
            WeightEntry(name: e.name, tensor: LazyTensor(dtype: e.dtype, shape: e.shape) {
                // Shapes only: the child left the data region a hole, which reads as zeros.
                guard readsData else { throw KerasReaderProcessError.dataNotRead(name: SafeText.line(e.name)) }
                return try file.tensor(named: e.name).data
            })
        }
        if let order = metadata.order {
            let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            guard order.count == entries.count, Set(order) == Set(byName.keys) else {
                throw KerasReaderProcessError.badOutput("its tensor order does not match its tensors")
            }
            entries = order.compactMap { byName[$0] }
        }
        metadata.order = nil
        metadata.foreign = [:]
        return WeightStore(sourcePath: source, format: .kerasH5, entries: entries, metadata: metadata, sourceHash: hash)
    }

    /// A number from the environment, or `fallback` when the variable is unset.
    static func setting(_ name: String, default fallback: Double, range: ClosedRange<Double>) throws -> Double {
        guard let text = ProcessInfo.processInfo.environment[name] else { return fallback }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw KerasReaderProcessError.badSetting(name: name, value: text, range: range)
        }
        return value
    }

    /// A new temporary file, already unlinked: it exists only as long as a descriptor or mapping of it.
    private static func anonymousFile() throws -> Int32 {
        let folder = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(folder)/graft-hdf5-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw KerasReaderProcessError.badOutput("no temporary file in \(folder): \(String(cString: strerror(errno)))")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }
}
