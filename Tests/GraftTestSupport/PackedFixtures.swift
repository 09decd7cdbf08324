import Foundation

/// Fixtures kept in a solid `.tar.xz` beside their siblings (for example `Fixtures/torch/variants.tar.xz`:
/// five containers of the same tensors, which compress to a sixth of their size together). A test asks for
/// `TestPaths.fixture("torch/renamed.pth")` as for any other file; the archive is unpacked once per test
/// process into a temporary folder and the path there is returned.
enum PackedFixtures {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var unpacked: [String: URL] = [:]

    /// The unpacked copy of `Fixtures/<name>` when `<name>` is missing and an archive in its folder has it.
    static func locate(_ name: String, in fixtures: URL) -> String? {
        let wanted = fixtures.appendingPathComponent(name)
        let folder = wanted.deletingLastPathComponent()
        let archives = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".tar.xz") }.sorted()
        for archive in archives {
            guard let dir = unpack(folder.appendingPathComponent(archive)) else { continue }
            let candidate = dir.appendingPathComponent(wanted.lastPathComponent)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
        }
        return nil
    }

    private static func unpack(_ archive: URL) -> URL? {
        lock.lock()
        defer { lock.unlock() }
        if let done = unpacked[archive.path] { return done }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("graft-fixtures-\(getpid())-\(unpacked.count)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-xJf", archive.path, "-C", dir.path]
        guard (try? tar.run()) != nil else { return nil }
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { return nil }
        unpacked[archive.path] = dir
        return dir
    }
}
