import Foundation
import XCTest

/// The README's Swift programs are these executables, verbatim, and they run: the README cannot show
/// code that no longer compiles or works.
final class ReadmeProgramTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../..").standardized
    static let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

    /// The ```swift block right after `<!-- program: PATH -->` in README.md.
    func readmeBlock(_ path: String) throws -> String {
        let readme = try String(contentsOf: Self.repo.appendingPathComponent("README.md"), encoding: .utf8)
        let marker = "<!-- program: \(path) -->\n```swift\n"
        guard let start = readme.range(of: marker), let end = readme.range(of: "\n```", range: start.upperBound..<readme.endIndex)
        else { throw XCTSkip("README.md has no block marked \(path)") }
        return String(readme[start.upperBound..<end.lowerBound]) + "\n"
    }

    func run(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: String, dir: URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = Self.bin.appendingPathComponent(name)
        p.arguments = arguments
        p.currentDirectoryURL = dir
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        print(text)
        return (p.terminationStatus, text, dir)
    }

    func check(_ target: String) throws {
        let file = "Examples/SimpleCNN/Sources/\(target)/main.swift"
        let code = try String(contentsOf: Self.repo.appendingPathComponent(file), encoding: .utf8)
        XCTAssertEqual(try readmeBlock(file), code, "README.md's program differs from \(file)")
    }

    func testTrainSmallCNNProgram() throws {
        try check("readme-train-small-cnn")
        let r = try run("readme-train-small-cnn", [Digits.folder])
        defer { try? FileManager.default.removeItem(at: r.dir) }
        XCTAssertEqual(r.status, 0)
        let last = r.output.split(separator: "\n").last { $0.hasPrefix("epoch 4") }.flatMap { Double($0.split(separator: " ").last!) }
        XCTAssertGreaterThan(last ?? 0, 0.9, "the small CNN should learn the digits")
        XCTAssertTrue(FileManager.default.fileExists(atPath: r.dir.appendingPathComponent("small_cnn.pth").path))
    }

    func testFineTuneProgram() throws {
        try check("readme-finetune")
        let r = try run("readme-finetune", ["resnet", Self.repo.appendingPathComponent("Fixtures/demo/backbone.pth").path,
                                           Self.repo.appendingPathComponent("Fixtures/demo/images").path])
        defer { try? FileManager.default.removeItem(at: r.dir) }
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("trainable: [\"layer3.0.conv1.weight\""), r.output)
        // 61 training images of three classes: better than chance at its best epoch.
        let accuracies = r.output.split(separator: "\n").filter { $0.hasPrefix("epoch") }.compactMap { Double($0.split(separator: " ").last!) }
        XCTAssertGreaterThan(accuracies.max() ?? 0, 0.6, r.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: r.dir.appendingPathComponent("finetuned.safetensors").path))
    }
}
