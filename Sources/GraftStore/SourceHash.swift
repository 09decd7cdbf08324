import Crypto
import Dispatch
import Foundation
import GraftCore

/// The sha256 of a source file, computed on another thread while the caller goes on reading it.
///
/// `graft convert` writes the hash into the store's provenance; hashing 100 MB takes about as long as
/// converting it, so the two run side by side on the two cores.
public final class SourceHash: @unchecked Sendable {
    private let group = DispatchGroup()
    private var digest: String?
    private var failure: Error?

    public init(path: String) {
        group.enter()
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            defer { group.leave() }
            do {
                // read(2), not mmap: a file truncated by another process mid-hash must give an
                // error, never SIGBUS.
                let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
                guard fd >= 0 else { throw FileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
                defer { close(fd) }
                var hasher = SHA256()
                let step = 8 << 20
                let buffer = UnsafeMutableRawPointer.allocate(byteCount: step, alignment: 64)
                defer { buffer.deallocate() }
                while true {
                    let n = read(fd, buffer, step)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw FileError.io(path: path, reason: String(cString: strerror(errno)))
                    }
                    if n == 0 { break }
                    hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: n))
                }
                digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
            } catch {
                failure = error
            }
        }
    }

    /// Waits for the hash.
    public func value() throws -> String {
        group.wait()
        if let failure { throw failure }
        return digest ?? ""
    }

    /// torchvision names downloads `<name>-<first hex digits of the sha256>.<ext>` and checks them
    /// (`HASH_REGEX = r"-([a-f0-9]*)\."`); returns the expected prefix when the file is named so.
    public static func expectedPrefix(fileName: String) -> String? {
        let base = fileName.split(separator: "/").last.map(String.init) ?? fileName
        var result: String?
        // The first "-<hex>." in the name, as Python's re.search would find it.
        var i = base.startIndex
        while let dash = base[i...].firstIndex(of: "-") {
            let afterDash = base.index(after: dash)
            let hex = base[afterDash...].prefix { "0123456789abcdef".contains($0) }
            if hex.endIndex < base.endIndex, base[hex.endIndex] == "." {
                result = String(hex)
                break
            }
            i = afterDash
        }
        // Require enough digits to mean something; torchvision's files use 8 or more.
        guard let prefix = result, prefix.count >= 6 else { return nil }
        return prefix
    }
}
