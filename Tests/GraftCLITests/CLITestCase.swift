import Foundation
import GraftTestSupport
import XCTest

/// Runs the `graft` executable built next to the test bundle.
class CLITestCase: XCTestCase {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    var dir: URL!

    override func setUp() { dir = TestPaths.temporaryDirectory("graft-cli") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("graft")
    }

    func graft(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a large output cannot fill the pipe and block the child.
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                   stderr: String(decoding: e, as: UTF8.self))
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Bad input: exit 2, exactly one line on stderr naming the file, no stack trace, no output file.
    func assertRefused(_ run: Run, naming fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.status, 2, run.stderr, file: file, line: line)
        let lines = run.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, run.stderr, file: file, line: line)
        XCTAssertTrue(run.stderr.hasPrefix("graft: error: "), run.stderr, file: file, line: line)
        for f in fragments { XCTAssertTrue(run.stderr.contains(f), "'\(run.stderr)' should name \(f)", file: file, line: line) }
        XCTAssertFalse(run.stderr.contains("Fatal error") || run.stderr.contains("Stack dump"), file: file, line: line)
    }
}
