import Foundation
import GraftTestSupport
import XCTest

/// No lost work: a real `graft finetune` killed with SIGKILL at several moments — between epochs, in
/// the middle of one, in the middle of writing its checkpoint, after its last one — or stopped with
/// Ctrl-C, and then run again with `--resume`, ends with a store byte-for-byte equal to an
/// uninterrupted run's; no partial file ever sits at the output's or the checkpoint's path.
final class ResumeCommandTests: CLITestCase {
    func arguments(_ output: String) -> [String] {
        ["finetune", "--arch", "resnet", "--checkpoint", TestPaths.fixture("demo/backbone.pth"), "--data", TestPaths.fixture("demo/images"),
         "--epochs", "4", "--batch", "16", "--seed", "7", "--lr", "1e-3", "--head-dropout", "0.3", "--freeze", "until:layer3", "--output", output]
    }

    func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = Self.executable
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Polls until `condition` holds (or fails the test after 60 s).
    func wait(for what: String, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(60)
        while !condition() {
            guard Date() < deadline else { return XCTFail("timed out waiting for \(what)") }
            usleep(2_000)
        }
    }

    func files(_ folder: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    func testKilledRunsResumeToTheUninterruptedResult() throws {
        let reference = path("reference/tuned.safetensors")
        let r = try graft(arguments(reference))
        XCTAssertEqual(r.status, 0, r.stderr)
        let expected = try XCTUnwrap(bytes(reference))

        // (name, extra environment, when to kill once the process runs)
        let checkpointWritten = { (folder: String) in self.files(folder).contains("tuned.checkpoint.safetensors") }
        let cases: [(String, [String: String], (String) -> Void)] = [
            ("before any checkpoint", [:], { _ in usleep(150_000) }),
            ("right after the first checkpoint", [:], { f in self.wait(for: "a checkpoint") { checkpointWritten(f) } }),
            ("inside the next epoch", [:], { f in self.wait(for: "a checkpoint") { checkpointWritten(f) }; usleep(120_000) }),
            // The second checkpoint's temporary file is complete and held before its rename.
            ("in the middle of a checkpoint write", ["GRAFT_TEST_CHECKPOINT_PAUSE": "2:30"], { f in
                self.wait(for: "the second checkpoint's temporary file") {
                    checkpointWritten(f) && self.files(f).contains { $0.hasPrefix(".tuned.checkpoint.safetensors.graft-") }
                }
            }),
        ]
        for (name, environment, when) in cases {
            let folder = path("run-\(name.replacingOccurrences(of: " ", with: "-"))")
            let output = folder + "/tuned.safetensors"
            let process = try start(arguments(output), environment: environment)
            when(folder)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(name): a killed run left an output")
            let resumed = try graft(arguments(output) + ["--resume"])
            XCTAssertEqual(resumed.status, 0, "\(name): \(resumed.stderr)")
            XCTAssertTrue(bytes(output) == expected, "\(name): the resumed run's store differs from the uninterrupted run's")
            XCTAssertFalse(files(folder).contains { $0.hasPrefix(".") }, "\(name): temporary files left: \(files(folder))")
        }
    }

    func testAFinishedRunWhoseOutputWasLostIsWrittenAgain() throws {
        let output = path("done/tuned.safetensors")
        XCTAssertEqual(try graft(arguments(output)).status, 0)
        let expected = try XCTUnwrap(bytes(output))
        try FileManager.default.removeItem(atPath: output)
        let again = try graft(arguments(output) + ["--resume"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("resuming after epoch 4"), again.stdout)
        XCTAssertTrue(bytes(output) == expected)
    }

    func testCtrlCStopsAfterTheEpochsCheckpointAndResumes() throws {
        let reference = path("reference/tuned.safetensors")
        XCTAssertEqual(try graft(arguments(reference)).status, 0)
        let folder = path("interrupted"), output = folder + "/tuned.safetensors"
        let process = try start(arguments(output))
        wait(for: "a checkpoint") { files(folder).contains("tuned.checkpoint.safetensors") }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        XCTAssertEqual(files(folder), ["tuned.checkpoint.safetensors"])
        let resumed = try graft(arguments(output) + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(bytes(output) == bytes(reference))
    }

    func testAnotherRunsCheckpointIsRefusedWithExit2() throws {
        let output = path("other/tuned.safetensors")
        var first = arguments(output)
        first[first.firstIndex(of: "--epochs")! + 1] = "1"
        XCTAssertEqual(try graft(first).status, 0)
        var other = first
        other[other.firstIndex(of: "--seed")! + 1] = "8"
        try FileManager.default.removeItem(atPath: output)
        let r = try graft(other + ["--resume"])
        assertRefused(r, naming: ["tuned.checkpoint.safetensors", "belongs to another run"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }
}
