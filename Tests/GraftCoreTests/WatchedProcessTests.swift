import Foundation
import GraftCore
import GraftTestSupport
import XCTest

/// The watchdog under libhdf5's child process, exercised with /bin/sh: every way a child ends is
/// reported as what it was, and a child that never ends costs the timeout and no more.
final class WatchedProcessTests: XCTestCase {
    func sh(_ script: String, timeout: Double = 10, passing: [(parent: Int32, child: Int32)] = []) throws -> WatchedProcess.Outcome {
        try WatchedProcess.run(executable: "/bin/sh", arguments: ["-c", script], passing: passing, timeout: timeout)
    }

    func testExitCodeAndStderrAreReported() throws {
        let outcome = try sh("echo 'refused: reason' >&2; echo 'not captured'; exit 3")
        XCTAssertEqual(outcome.ending, .exited(3))
        XCTAssertEqual(String(decoding: outcome.stderr, as: UTF8.self), "refused: reason\n")
        XCTAssertEqual(try sh("exit 0").ending, .exited(0))
    }

    func testAChildThatNeverEndsIsKilledAtTheDeadline() throws {
        let start = Date()
        // exec: the shell becomes the sleep, so the SIGKILL reaches the process that holds stderr.
        let outcome = try sh("echo started >&2; exec sleep 60", timeout: 0.5)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(outcome.ending, .timedOut)
        XCTAssertEqual(String(decoding: outcome.stderr, as: UTF8.self), "started\n")
        XCTAssertGreaterThanOrEqual(seconds, 0.5)
        XCTAssertLessThan(seconds, 5)
    }

    func testAChildThatClosesStderrAndHangsIsStillKilled() throws {
        let outcome = try sh("exec 2>&-; exec sleep 60", timeout: 0.3)
        XCTAssertEqual(outcome.ending, .timedOut)
    }

    func testSignalsAreReportedAsSignals() throws {
        XCTAssertEqual(try sh("ulimit -c 0; kill -SEGV $$").ending, .signaled(SIGSEGV))
        XCTAssertEqual(try sh("kill -KILL $$").ending, .signaled(SIGKILL))
        XCTAssertEqual(WatchedProcess.signalName(SIGSEGV), "SIGSEGV")
    }

    func testTheChildStartsWithDefaultSignalHandling() throws {
        // The parent ignoring SIGPIPE (as Swift programs do) must not carry over into the child.
        let saved = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, saved) }
        XCTAssertEqual(try sh("kill -PIPE $$").ending, .signaled(SIGPIPE))
    }

    func testPassedDescriptorReachesTheChild() throws {
        let dir = TestPaths.temporaryDirectory("watched")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("out").path
        let fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        // Both on fd 3 on purpose: the child must still get it (a dup2 onto itself keeps close-on-exec).
        let outcome = try sh("printf hello >&3", passing: [(fd, 3)])
        XCTAssertEqual(outcome.ending, .exited(0))
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), "hello")
    }

    func testTheChildGetsNoOtherInheritableDescriptor() throws {
        // A host's inheritable descriptor (no close-on-exec) would otherwise reach the child.
        let fd = open("/dev/null", O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0)
        XCTAssertEqual(try sh("test -e /proc/$$/fd/\(fd) && exit 7; exit 0").ending, .exited(0))
        let passed = try sh("test -e /proc/$$/fd/3 || exit 8; exit 0", passing: [(fd, 3)])
        XCTAssertEqual(passed.ending, .exited(0))
    }

    func testStderrIsCappedAndAChattyChildDoesNotBlock() throws {
        let outcome = try WatchedProcess.run(
            executable: "/bin/sh", arguments: ["-c", "head -c 1000000 /dev/zero >&2; exit 4"], timeout: 10, stderrLimit: 1000)
        XCTAssertEqual(outcome.ending, .exited(4))
        XCTAssertEqual(outcome.stderr.count, 1000)
    }

    func testAMissingExecutableIsAnError() {
        XCTAssertThrowsError(try WatchedProcess.run(executable: "/nonexistent/graft", arguments: [], timeout: 1)) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/graft"), "\(error)")
        }
    }
}
