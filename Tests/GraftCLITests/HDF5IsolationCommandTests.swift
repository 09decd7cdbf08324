import Foundation
import GraftCore
import GraftSafetensors
import GraftStore
import GraftTestSupport
import XCTest

/// `graft` reads Keras HDF5 files through libhdf5 in a watched child process (issue 16): files libhdf5
/// loops or faults on (found by `make fuzz`) end in the usual one-line refusal within the watchdog's
/// time, nothing is left behind, and good files give exactly what the in-process reader gives.
final class HDF5IsolationCommandTests: CLITestCase {
    /// Where the child's hand-over file is made (unlinked at once, so this stays empty).
    var scratch: String { path("tmp") }

    override func setUp() {
        super.setUp()
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    /// `graft ARGS` with extra environment variables, and how long it took.
    func graft(_ arguments: [String], environment: [String: String]) throws -> (run: Run, seconds: Double) {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": scratch].merging(environment) { $1 }) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let start = Date()
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let run = Run(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
        return (run, Date().timeIntervalSince(start))
    }

    func leftovers() -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: dir.path)) ?? []).filter { $0 != "tmp" }.sorted()
    }

    func testLibHDF5HangsEndAtTheWatchdog() throws {
        for name in ["libhdf5_hang_global_heap.h5", "libhdf5_hang_global_heap_2.h5"] {
            let file = TestPaths.fixture("keras/hostile/\(name)")
            for command in [["inspect", file], ["convert", file, path("out.safetensors")]] {
                let (run, seconds) = try graft(command, environment: ["GRAFT_HDF5_TIMEOUT": "2"])
                assertRefused(run, naming: [file, "libhdf5 did not finish reading this file within 2 s"])
                // Two seconds of watchdog plus start-up; well under libhdf5's own 20 s and more.
                XCTAssertLessThan(seconds, 12, "\(command)")
                XCTAssertEqual(leftovers(), [], "\(command)")
            }
        }
    }

    /// Every command that opens a checkpoint reads a Keras file through the watched process (a file
    /// libhdf5 loops on would otherwise hold it for minutes).
    func testEveryCommandThatOpensACheckpointIsWatched() throws {
        let hang = TestPaths.fixture("keras/hostile/libhdf5_hang_global_heap.h5")
        let npy = TestPaths.fixture("keras/resnet_mini.input.npy")
        let commands = [
            ["summary", "--checkpoint", hang],
            ["predict", "--arch", "ResNet50", "--checkpoint", hang, TestPaths.fixture("demo/real/chelsea.jpg")],
            ["verify", "--checkpoint", hang, "--input", npy, "--reference", npy],
            ["export", hang, path("out.pt")],
            ["export", "--format", "onnx", "--arch", "ResNet50", hang, path("out.onnx")],
            ["features", "--arch", "ResNet50", "--checkpoint", hang, "--input", npy, "--layer", "pool", "--output", path("f.npy")],
        ]
        for command in commands {
            let (run, seconds) = try graft(command, environment: ["GRAFT_HDF5_TIMEOUT": "1"])
            assertRefused(run, naming: [hang, "within 1 s"])
            XCTAssertLessThan(seconds, 10, "\(command)")
            XCTAssertEqual(leftovers(), [], "\(command)")
        }
    }

    func testLibHDF5FaultsInTheChildAreRefusalsOfTheFile() throws {
        for name in ["libhdf5_crash_free_list.h5", "libhdf5_crash_btree2.h5"] {
            let file = TestPaths.fixture("keras/hostile/\(name)")
            let (run, _) = try graft(["convert", file, path("out.safetensors")], environment: [:])
            // Under TSan's allocator libhdf5's bad read may not fault; the file must still be refused.
            let crashed = !runningUnderThreadSanitizer || run.stderr.contains("libhdf5 crashed")
            assertRefused(run, naming: [file] + (crashed ? ["libhdf5 crashed reading this file (a corrupt HDF5 structure, SIGSEGV)"] : []))
            XCTAssertEqual(leftovers(), [])
        }
    }

    /// A refusal made by the child's reader reaches the user exactly as the in-process reader words it.
    func testReaderRefusalsComeBackWordForWord() throws {
        for name in ["soft_link_layer.h5", "missing_layer_names.h5", "shape_bomb.h5", "rank33.h5", "not_hdf5.h5"] {
            let file = TestPaths.fixture("keras/hostile/\(name)")
            var expected = ""
            XCTAssertThrowsError(try WeightStore.open(file)) { expected = "\($0)" }
            let (run, _) = try graft(["inspect", file], environment: [:])
            assertRefused(run, naming: [file])
            XCTAssertEqual(run.stderr, "graft: error: \(SafeText.line(file)): \(SafeText.line(expected))\n", name)
        }
    }

    /// The child's hand-over changes nothing: every tensor byte and metadata value of a converted store
    /// is what the in-process reader writes (convert adds only the detected architecture).
    func testConvertMatchesTheInProcessReader() throws {
        for name in ["resnet_mini.h5", "efficientnet_mini.full.h5", "efficientnet_mini.weights.h5", "vgg_mini.weights.h5",
                     "nested.h5", "unnamed.weights.h5"] {
            let file = TestPaths.fixture("keras/\(name)")
            let viaChild = path("child.safetensors"), inProcess = path("ref.safetensors")
            let (run, _) = try graft(["convert", file, viaChild], environment: [:])
            XCTAssertEqual(run.status, 0, run.stderr)
            try WeightStore.open(file).writeSafetensors(to: inProcess)
            let a = try SafetensorsFile(path: viaChild), b = try SafetensorsFile(path: inProcess)
            XCTAssertEqual(a.names, b.names, name)
            XCTAssertGreaterThan(a.names.count, 0, name)
            for tensor in b.names {
                let x = try a.tensor(named: tensor), y = try b.tensor(named: tensor)
                XCTAssertEqual(x.dtype, y.dtype, tensor)
                XCTAssertEqual(x.shape, y.shape, tensor)
                XCTAssertTrue(x.data.withUnsafeBytes { p in y.data.withUnsafeBytes { q in p.elementsEqual(q) } }, "\(name) \(tensor)")
            }
            var metadata = a.metadata
            metadata["graft.arch"] = nil
            XCTAssertEqual(metadata, b.metadata, name)
            XCTAssertEqual(leftovers().filter { !$0.hasSuffix(".safetensors") }, [])
        }
    }

    func testTheChildIsBoundedInMemory() throws {
        // In-process, libhdf5 grows past 7 GB on this file and is still going after a minute; at the
        // reader process's address-space limit its allocation fails and the file is refused.
        let bomb = TestPaths.fixture("keras/hostile/libhdf5_memory_bomb.h5")
        for budget in ["256", nil] {
            let (run, seconds) = try graft(["inspect", bomb], environment: budget.map { ["GRAFT_HDF5_MEMORY_MB": $0] } ?? [:])
            assertRefused(run, naming: [bomb, "memory allocation failed"])
            XCTAssertLessThan(seconds, 30, budget ?? "default")
        }
        // The budget counts from what the process has mapped at start-up: 64 MiB reads a small file.
        let (fine, _) = try graft(["inspect", TestPaths.fixture("keras/efficientnet_mini.full.h5")], environment: ["GRAFT_HDF5_MEMORY_MB": "64"])
        XCTAssertEqual(fine.status, 0, fine.stderr)
        XCTAssertEqual(leftovers(), [])
    }

    func testABadSettingIsRefused() throws {
        let file = TestPaths.fixture("keras/resnet_mini.h5")
        for value in ["soon", "0", "-5"] {
            let (run, _) = try graft(["inspect", file], environment: ["GRAFT_HDF5_TIMEOUT": value])
            assertRefused(run, naming: [file, "GRAFT_HDF5_TIMEOUT must be a number"])
        }
        let (run, _) = try graft(["inspect", file], environment: ["GRAFT_HDF5_MEMORY_MB": "16"])
        assertRefused(run, naming: [file, "GRAFT_HDF5_MEMORY_MB must be a number from 64"])
    }
}
