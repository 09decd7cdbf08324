import Foundation

/// The digits ImageFolder (Fixtures/simple_cnn/digits.tar.xz, packed so 1797 small PNGs do not each
/// take a disk block), unpacked once per test process into a temporary folder.
enum Digits {
    static let folder: String = {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../../Fixtures/simple_cnn").standardized.path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("graft-digits-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-xJf", "\(fixtures)/digits.tar.xz", "-C", dir.path]
        try? tar.run()
        tar.waitUntilExit()
        return dir.appendingPathComponent("digits").path
    }()
}
