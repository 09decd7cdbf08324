import Foundation

/// Locations of fixtures, resolved from this file's place in the repository so tests run from any
/// working directory.
public enum TestPaths {
    /// The repository root.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Fixtures/` (small committed files made by `tools/`); a file packed in a `.tar.xz` of its folder
    /// is unpacked on first use (PackedFixtures).
    public static func fixture(_ name: String) -> String {
        let fixtures = root.appendingPathComponent("Fixtures")
        let path = fixtures.appendingPathComponent(name).path
        if FileManager.default.fileExists(atPath: path) { return path }
        return PackedFixtures.locate(name, in: fixtures) ?? path
    }

    /// `../shared/fixtures/` beside the checkout (full-size references), or nil when absent.
    public static var sharedFixtures: URL? {
        let url = root.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
        return FileManager.default.fileExists(atPath: url.appendingPathComponent("README.md").path) ? url : nil
    }

    /// A fresh temporary directory, removed by the caller (or left in /tmp).
    public static func temporaryDirectory(_ label: String = "graft") -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
