import Foundation
import GraftTestSupport
import XCTest

/// One row of the hostile catalogue (issue 16): an input made at test time, the `graft` command that
/// reads it, and what must happen — the exit code and a reason the one-line message must contain.
///
/// Rows are data: the families in `HostileCatalogue*Cases.swift` list them, `HostileCatalogueRunner`
/// runs them against the real binary. A fix adds its row, so the catalogue grows with every fix.
struct HostileCase: Sendable {
    let name: String
    let input: HostileInput
    /// The arguments: `{in}` is the hostile input's path, `{out}` the output folder (which must stay
    /// empty), `@x/y` the fixture `Fixtures/x/y`.
    let argv: [String]
    /// Any one of these must appear in the message (a mutation family's cases fail in a few ways).
    let reasons: [String]
    var exit: Int32 = 2
    /// What of the input's name the message must show; its file name (first 40 bytes) when nil.
    var names: String? = nil
    /// "graft: warning:" lines (skipped images) may precede the one error line.
    var warnsFirst = false

    init(_ name: String, _ input: HostileInput, _ argv: [String], _ reasons: [String], exit: Int32 = 2,
         names: String? = nil, warnsFirst: Bool = false) {
        self.name = name
        self.input = input
        self.argv = argv
        self.reasons = reasons
        self.exit = exit
        self.names = names
        self.warnsFirst = warnsFirst
    }
}

/// How a case's input comes to be, in its own `in/` folder.
enum HostileInput: Sendable {
    /// A file of these bytes, named so.
    case bytes(String, @Sendable () throws -> [UInt8])
    /// A folder of that name, filled by the closure.
    case folder(String, @Sendable (URL) throws -> Void)
    /// A file of that name written by the closure (given its path).
    case writer(String, @Sendable (String) throws -> Void)
    /// An existing path (a device, a committed hostile fixture), used as is.
    case path(String)

    var fileName: String {
        switch self {
        case .bytes(let n, _), .folder(let n, _), .writer(let n, _): return n
        case .path(let p): return (p as NSString).lastPathComponent
        }
    }

    /// Creates the input under `dir` and returns its path.
    func make(in dir: URL) throws -> String {
        switch self {
        case .bytes(let name, let bytes):
            let url = dir.appendingPathComponent(name)
            try Data(try bytes()).write(to: url)
            return url.path
        case .folder(let name, let fill):
            let url = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try fill(url)
            return url.path
        case .writer(let name, let write):
            let path = dir.appendingPathComponent(name).path
            try write(path)
            return path
        case .path(let path):
            return path
        }
    }
}

/// Limits every case is held to (issue 16's "done when").
enum HostileLimits {
    /// Wall time before the child is killed and the case fails as a hang.
    static let seconds: Double = 10
    /// Peak resident set (GNU time's %M) a refusal may reach.
    static let residentBytes = 2 << 30
    /// Address space the child may map (prlimit --as): a runaway allocation fails fast instead of
    /// swapping the machine; it then shows as a crash, not as a pass.
    static let addressSpaceBytes = 6 << 30
    /// The one line's length: messages quote bounded prefixes of hostile names.
    static let messageBytes = 2_000
}

/// Runs the catalogue's rows against the built `graft`, two at a time (the test machines have two
/// cores), and returns one line per broken expectation.
enum HostileCatalogueRunner {
    static func run(_ cases: [HostileCase], executable: URL) -> [String] {
        let root = TestPaths.temporaryDirectory("graft-hostile")
        defer { try? FileManager.default.removeItem(at: root) }
        let shared = Workers()
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            while let i = shared.take(below: cases.count) {
                let problems = check(cases[i], in: root.appendingPathComponent("case\(i)"), executable: executable)
                shared.report(problems.map { "\(cases[i].name): \($0)" })
            }
        }
        return shared.failures
    }

    /// The next row to run and the failures so far, shared by the two workers.
    final class Workers: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        private(set) var failures: [String] = []

        func take(below count: Int) -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard next < count else { return nil }
            next += 1
            return next - 1
        }

        func report(_ lines: [String]) {
            lock.lock()
            failures += lines
            lock.unlock()
        }
    }

    static func check(_ c: HostileCase, in caseDir: URL, executable: URL) -> [String] {
        let inDir = caseDir.appendingPathComponent("in"), outDir = caseDir.appendingPathComponent("out")
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: inDir, withIntermediateDirectories: true)
            try fm.createDirectory(at: outDir, withIntermediateDirectories: true)
        } catch { return ["cannot create its folders: \(error)"] }
        defer { try? fm.removeItem(at: caseDir) }
        let input: String
        do { input = try c.input.make(in: inDir) } catch { return ["cannot make its input: \(error)"] }
        let inBefore = listing(inDir)
        let argv = c.argv.map { arg -> String in
            if arg.hasPrefix("@") { return TestPaths.fixture(String(arg.dropFirst())) }
            return arg.replacingOccurrences(of: "{in}", with: input).replacingOccurrences(of: "{out}", with: outDir.path)
        }
        let run = ChildProcess.run(executable.path, argv, stdout: caseDir.appendingPathComponent("stdout"),
                                   stderr: caseDir.appendingPathComponent("stderr"), usage: caseDir.appendingPathComponent("usage"))
        var problems: [String] = []
        let stderr = (try? String(contentsOf: caseDir.appendingPathComponent("stderr"), encoding: .utf8)) ?? "<not UTF-8>"
        log(c, run, stderr)
        let shown = String(stderr.prefix(300)).debugDescription
        switch run.end {
        case .timedOut: problems.append("still running after \(HostileLimits.seconds) s (killed): \(shown)")
        case .signal(let s): problems.append("ended by signal \(s): \(shown)")
        case .exit(let code) where code != c.exit: problems.append("exit \(code), expected \(c.exit): \(shown)")
        case .exit, .spawnFailed: break
        }
        if case .spawnFailed(let e) = run.end { problems.append("could not start graft: \(e)") }
        if run.maxResidentBytes == 0 && fm.isExecutableFile(atPath: ChildProcess.time) {
            problems.append("peak RSS not measured")
        }
        if run.maxResidentBytes >= HostileLimits.residentBytes {
            problems.append("peak RSS \(run.maxResidentBytes >> 20) MiB")
        }
        if c.exit == 2 {
            let lines = stderr.split(separator: "\n").map(String.init)
            // finetune warns of each image it skips before it refuses the set: only those may precede the error.
            let warnings = c.warnsFirst ? lines.prefix { $0.hasPrefix("graft: warning: ") }.count : 0
            let message = lines.last ?? ""
            if lines.count != warnings + 1 { problems.append("\(lines.count) lines on stderr: \(shown)") }
            // Bounded: ten warnings, then one line saying the rest are skipped silently.
            if warnings > 11 { problems.append("\(warnings) warning lines") }
            if !message.hasPrefix("graft: error: ") { problems.append("message does not start 'graft: error: ': \(shown)") }
            if message.utf8.count > HostileLimits.messageBytes { problems.append("message of \(message.utf8.count) bytes") }
            let name = c.names ?? String(decoding: Array(c.input.fileName.utf8.prefix(40)), as: UTF8.self)
            if !message.contains(name) { problems.append("message does not name '\(name)': \(shown)") }
            // The reason is looked for in what the message says besides the file's name ("std" would
            // otherwise be found in pp_std_1e-46.safetensors).
            let said = message.replacingOccurrences(of: input, with: "").replacingOccurrences(of: c.input.fileName, with: "")
            if !c.reasons.contains(where: { said.contains($0) }) {
                problems.append("message has none of \(c.reasons): \(shown)")
            }
        }
        let left = listing(outDir)
        if !left.isEmpty { problems.append("left in the output folder: \(left)") }
        let inAfter = listing(inDir)
        if inAfter != inBefore { problems.append("input folder changed: \(inBefore) -> \(inAfter)") }
        return problems
    }

    /// With GRAFT_HOSTILE_LOG=FILE, one line per case (name, end, seconds, peak RSS, message) is
    /// appended to FILE: what the catalogue's messages actually say, for review.
    static func log(_ c: HostileCase, _ run: ChildProcess.Result, _ stderr: String) {
        guard let path = ProcessInfo.processInfo.environment["GRAFT_HOSTILE_LOG"] else { return }
        let line = "\(c.name)\t\(run.end)\t" + String(format: "%.2f s\t%d MiB\t", run.seconds, run.maxResidentBytes >> 20)
            + String(stderr.prefix(400)).debugDescription + "\n"
        logLock.lock()
        defer { logLock.unlock() }
        if let h = FileHandle(forWritingAtPath: path) {
            h.seekToEndOfFile()
            h.write(Data(line.utf8))
            h.closeFile()
        } else {
            FileManager.default.createFile(atPath: path, contents: Data(line.utf8))
        }
    }

    static let logLock = NSLock()

    /// Every path under `dir`, hidden files (temporary outputs) included.
    static func listing(_ dir: URL) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir.path) else { return [] }
        return e.compactMap { $0 as? String }.sorted()
    }
}

/// The catalogue's split by family, one XCTest class each so a family can run alone
/// (`--filter HostileCatalogueTorchTests`); `--filter HostileCatalogue` runs them all.
class HostileCatalogueTestCase: XCTestCase {
    func runCatalogue(_ cases: [HostileCase], file: StaticString = #filePath, line: UInt = #line) {
        let executable = CLITestCase.executable
        let started = Date()
        let failures = HostileCatalogueRunner.run(cases, executable: executable)
        for f in failures { XCTFail(f, file: file, line: line) }
        print("hostile catalogue: \(cases.count) cases, \(failures.count) failures, "
              + String(format: "%.1f s", Date().timeIntervalSince(started)))
    }
}
