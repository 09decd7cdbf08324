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
                // Hash the mapped file in place: no copy into a buffer (this runs beside the conversion,
                // which reads the same pages).
                let file = try MappedFile(path: path)
                var hasher = SHA256()
                var offset = 0
                let step = 8 << 20
                while offset < file.count {
                    let n = min(step, file.count - offset)
                    hasher.update(bufferPointer: UnsafeRawBufferPointer(start: file.base + offset, count: n))
                    // Done with these pages: keep them out of the resident set (they stay in the page cache).
                    try file.buffer(offset: offset, count: n).releaseResidentPages()
                    offset += n
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
