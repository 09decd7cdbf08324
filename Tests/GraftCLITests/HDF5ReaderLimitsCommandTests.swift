import Foundation
import GraftTestSupport
import XCTest

/// The reader process's own bounds (`ChildLimits`), which hold even when its watchdog parent is gone:
/// it dies with its parent, and its CPU time is capped.
final class HDF5ReaderLimitsCommandTests: CLITestCase {
    let hang = TestPaths.fixture("keras/hostile/libhdf5_hang_global_heap.h5")

    /// The pids whose parent is `pid` (any of its threads).
    func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task -> [Int32] in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    /// Running (a zombie waiting for a reaper counts as ended).
    func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return false }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    func testTheReaderProcessDiesWithItsParent() throws {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["inspect", hang]
        process.environment = ProcessInfo.processInfo.environment.merging(["GRAFT_HDF5_TIMEOUT": "120"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var reader: Int32?
        let deadline = Date().addingTimeInterval(20)
        while reader == nil && Date() < deadline {
            reader = children(of: process.processIdentifier).first
            if reader == nil { usleep(5_000) }
        }
        guard let reader else {
            process.terminate()
            return XCTFail("no reader process appeared")
        }
        // Let it reach libhdf5's loop, then take the watchdog away without a chance to clean up.
        usleep(300_000)
        XCTAssertTrue(isRunning(reader))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let gone = Date().addingTimeInterval(10)
        while isRunning(reader) && Date() < gone { usleep(10_000) }
        XCTAssertFalse(isRunning(reader), "the reader process outlived its parent")
    }

    func testTheReaderProcessCapsItsOwnCPUTime() throws {
        // Run directly, no watchdog: the CPU limit alone ends libhdf5's loop (SIGXCPU).
        let start = Date()
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["__read-hdf5", "--memory-mb", "512", "--cpu-seconds", "1", "--", hang, path("out")]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(process.terminationStatus, SIGXCPU)
        XCTAssertLessThan(Date().timeIntervalSince(start), 15)
    }

    func testAReaderWhoseParentIsAlreadyGoneStops() throws {
        // pid 1 did not start it: the parent-death signal could never arrive, so it refuses to run.
        let r = try graft(["__read-hdf5", "--memory-mb", "512", "--cpu-seconds", "5", "--parent", "1", "--", hang, path("out")])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr, "could not limit the reader process's lifetime: the process that started it has ended\n")
    }
}
