#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GraftCore
import GraftSafetensors

extension KerasReaderProcess {
    /// The child's side: bounds this process, reads the Keras file at `input` in-process and writes its
    /// tensors (Graft's layout) and store metadata as a safetensors file at `output`. A thrown error is
    /// the refusal the parent relays; the caller prints its description alone on stderr and exits 2.
    /// With `shapesOnly` no tensor is read: the output's data region is left a hole of the right size.
    public static func runChild(
        input: String, output: String, memoryMiB: Int, cpuSeconds: Int, parent: Int32?, shapesOnly: Bool = false
    ) throws {
        // A fault is the parent's to report (graft's in-process SIGSEGV handler would word it as a
        // line of its own); at the default action the parent sees the signal itself.
        signal(SIGSEGV, SIG_DFL)
        signal(SIGBUS, SIG_DFL)
        try ChildLimits.apply(memoryBytes: memoryMiB << 20, cpuSeconds: cpuSeconds, parent: parent)
        let (entries, metadata) = try WeightStore.kerasContents(input)
        try write(entries, metadata: metadata, to: output, data: !shapesOnly)
    }

    /// A plain safetensors file (the layout and header `writeSafetensors` produces, order recorded
    /// when it differs), written straight through: it is a temporary hand-over, so no fsync and no
    /// rename (the parent owns the file and removes it whatever happens).
    static func write(_ entries: [WeightEntry], metadata: StoreMetadata, to path: String, data: Bool = true) throws {
        let ordered = Safetensors.layoutOrder(of: entries.map(\.tensor.dtype)).map { entries[$0] }
        var meta = metadata
        meta.order = ordered.map(\.name) == entries.map(\.name) ? nil : entries.map(\.name)
        let (header, _) = try Safetensors.encodeHeader(
            entries: ordered.map { (name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape) },
            metadata: meta.encoded())
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        try header.withUnsafeBytes { try writeAll(fd, $0, path) }
        guard data else {
            // The safetensors layout stays valid (the parent's parser checks the sizes); nothing is read.
            let total = ordered.reduce(header.count) { $0 + $1.tensor.byteCount }
            guard ftruncate(fd, off_t(total)) == 0 else {
                throw FileError.io(path: path, reason: "ftruncate failed: \(String(cString: strerror(errno)))")
            }
            return
        }
        for entry in ordered {
            let raw = try entry.tensor.load()
            // The header promised these bytes: a reader that returned others must not shift the rest.
            guard raw.dtype == entry.tensor.dtype, raw.shape == entry.tensor.shape,
                  raw.data.count == entry.tensor.byteCount
            else {
                throw FileError.io(path: path, reason: "tensor '\(SafeText.line(entry.name))' read back with another dtype or shape")
            }
            try raw.data.withUnsafeBytes { try writeAll(fd, $0, path) }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws {
        let code = AtomicFileWriter.writeFully(fd, bytes)
        guard code == 0 else { throw FileError.io(path: path, reason: "write failed: \(String(cString: strerror(code)))") }
    }
}

/// How a Keras file read in a child process failed; the CLI prints it after the file's name.
public enum KerasReaderProcessError: Error, CustomStringConvertible, Equatable {
    /// The child's reader refused the file: its message, word for word.
    case refused(String)
    /// The child ended on a signal: libhdf5 faulted, or an allocation failed at the memory limit.
    case crashed(signal: Int32, memoryMiB: Int)
    /// The watchdog killed the child.
    case timedOut(seconds: Double)
    /// The child exited otherwise (it could not start its work); the first line it printed.
    case failed(code: Int32, stderr: String)
    /// The child's output could not be read back, or no temporary file could be made for it.
    case badOutput(String)
    case badSetting(name: String, value: String, range: ClosedRange<Double>)
    /// The store was opened for shapes only (`StoreOpenOptions.readsData` false).
    case dataNotRead(name: String)

    public var description: String {
        switch self {
        case .refused(let message):
            return message
        case .crashed(let signal, _) where signal == SIGSEGV || signal == SIGBUS:
            // The wording of graft's in-process handler, which this replaces for the CLI.
            return "libhdf5 crashed reading this file (a corrupt HDF5 structure, \(WatchedProcess.signalName(signal))); refused, nothing was written"
        case .crashed(let signal, _) where signal == SIGXCPU:
            return "libhdf5 used up the reader process's CPU time on this file (SIGXCPU); refused, nothing was written"
        case .crashed(let signal, let memoryMiB):
            return "the HDF5 reader process ended on \(WatchedProcess.signalName(signal)) (a fault in libhdf5 on this file, "
                + "or its memory limit of \(memoryMiB) MiB, \(KerasReaderProcess.memoryVariable)); refused, nothing was written"
        case .timedOut(let seconds):
            return "libhdf5 did not finish reading this file within \(Self.seconds(seconds)) s (a corrupt HDF5 structure it "
                + "loops on; \(KerasReaderProcess.timeoutVariable) sets the limit); refused, nothing was written"
        case .failed(let code, let stderr):
            return "the HDF5 reader process failed (exit \(code)\(stderr.isEmpty ? "" : ": \(stderr)"))"
        case .badOutput(let why):
            return "the HDF5 reader process's output could not be used: \(why)"
        case .dataNotRead(let name):
            return "tensor '\(name)' was not read: this Keras file was opened for names and shapes only"
        case .badSetting(let name, let value, let range):
            return "\(name) must be a number from \(Self.seconds(range.lowerBound)) to \(Self.seconds(range.upperBound)), "
                + "not \(SafeText.quoted(value))"
        }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
