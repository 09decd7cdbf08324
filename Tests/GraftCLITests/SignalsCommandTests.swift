import Foundation
import GraftCore
import GraftSafetensors
import GraftTestSupport
import XCTest

/// A `graft convert` stopped from outside leaves nothing behind: SIGTERM removes the temporary output,
/// and an input truncated by another process while mapped (SIGBUS) is exit 2 with one line (issue 16).
final class SignalsCommandTests: CLITestCase {
    /// 256 MiB in 64 tensors: long enough to write that a signal lands mid-write.
    func bigInput() throws -> String {
        let file = path("big.safetensors")
        let tensorBytes = 4 << 20
        let entries = (0..<64).map { (name: "t\($0)", dtype: DType.float32, shape: [tensorBytes / 4]) }
        try SafetensorsWriter.write(to: file, entries: entries, metadata: []) { i in
            ByteBuffer([UInt8](repeating: UInt8(i), count: tensorBytes))
        }
        return file
    }

    /// Starts `graft convert INPUT OUT` and returns once its temporary output exists.
    func convertUntilWriting(_ input: String, output: String) throws -> Process {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["convert", input, output]
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while temporaryFiles().isEmpty && process.isRunning && Date() < deadline { usleep(500) }
        // mkstemp creates the file a moment before it is registered for removal.
        usleep(20_000)
        XCTAssertTrue(process.isRunning, "convert finished before it could be interrupted")
        return process
    }

    func temporaryFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.contains(".graft-") }
    }

    func testSIGTERMDuringConvertRemovesTheTemporaryOutput() throws {
        let input = try bigInput()
        let process = try convertUntilWriting(input, output: path("out.safetensors"))
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(process.terminationStatus, SIGTERM)
        XCTAssertEqual(temporaryFiles(), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.safetensors")))
    }

    /// libzip writes a .pth through a temporary file of its own naming (`<ours>.XXXXXX`) in zip_close,
    /// which no handler can find: a SIGTERM that lands there is held until zip_close returns, then
    /// removes Graft's temporary file and takes effect. Nothing is left either way.
    func testSIGTERMWhileLibzipWritesLeavesNothing() throws {
        let input = try bigInput()
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["export", input, path("out.pth")]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let libzipTemporary = { self.temporaryFiles().contains { $0.split(separator: "-").last?.contains(".") == true } }
        let deadline = Date().addingTimeInterval(30)
        while !libzipTemporary() && process.isRunning && Date() < deadline { usleep(200) }
        XCTAssertTrue(process.isRunning && libzipTemporary(), "export finished before libzip's temporary file was seen")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(process.terminationStatus, SIGTERM)
        XCTAssertEqual(temporaryFiles(), [], "libzip's file and Graft's are both gone")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.pth")))
    }

    func testInputTruncatedWhileMappedIsAClearError() throws {
        let input = try bigInput()
        let process = try convertUntilWriting(input, output: path("out.safetensors"))
        XCTAssertEqual(truncate(input, 1 << 20), 0)
        process.waitUntilExit()
        let stderr = String(decoding: (process.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 2, stderr)
        XCTAssertEqual(stderr.split(separator: "\n").count, 1, stderr)
        XCTAssertTrue(stderr.hasPrefix("graft: error: ") && stderr.contains("truncated"), stderr)
        XCTAssertEqual(temporaryFiles(), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.safetensors")))
    }

    func testTemporaryFilesAreRegisteredOnlyWhileInFlight() throws {
        let writer = try AtomicFileWriter(destination: path("x.bin"))
        XCTAssertTrue(TemporaryFiles.registered.contains(writer.temporaryPath))
        try writer.write([1, 2, 3])
        try writer.commit()
        XCTAssertFalse(TemporaryFiles.registered.contains(writer.temporaryPath))
        let dropped = try AtomicFileWriter(destination: path("y.bin"))
        dropped.abandon()
        XCTAssertFalse(TemporaryFiles.registered.contains(dropped.temporaryPath))
    }
}

/// Files on which libhdf5 1.10 itself faults (found by `make fuzz`'s hdf5 target): the process ends
/// with graft's one-line refusal and exit 2, not a crash. Run as a separate process, never in-process.
final class ForeignParserCrashTests: CLITestCase {
    func testLibHDF5FaultsAreRefusalsOfTheFile() throws {
        for name in ["libhdf5_crash_global_heap.h5", "libhdf5_crash_btree2.h5"] {
            let file = TestPaths.fixture("keras/hostile/\(name)")
            for command in [["inspect", file], ["convert", file, path("out.safetensors")]] {
                let r = try graft(command)
                assertRefused(r, naming: [name, "libhdf5 crashed reading this file"])
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "\(command)")
            }
        }
    }
}
