import Foundation
import Graft
import SimpleCNNModels
import XCTest

/// The course's CNNs, built with Graft's public API only, against PyTorch (Fixtures/simple_cnn, made by
/// tools/make_simple_cnn_fixtures.py): the same state-dict keys, a PyTorch-trained SimpleCNN's logits,
/// and LeNet-5 trained from scratch, exported, and read back.
final class SimpleCNNTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../../Fixtures/simple_cnn").standardized.path

    struct Keys: Decodable {
        struct Key: Decodable, Equatable { let name: String; let dtype: String; let shape: [Int] }
        let keys: [Key]
    }

    /// The model's state dict as (name, dtype, shape), to compare with what PyTorch's class lists.
    func keys(_ m: Module) -> [Keys.Key] {
        m.stateDict().map { Keys.Key(name: $0.name, dtype: $0.tensor.dtype == .int64 ? "int64" : "float32", shape: $0.tensor.shape) }
    }

    func reference(_ file: String) throws -> [Keys.Key] {
        try JSONDecoder().decode(Keys.self, from: Data(contentsOf: URL(fileURLWithPath: "\(Self.fixtures)/\(file)"))).keys
    }

    func testStateDictKeysAreThePyTorchClasses() throws {
        XCTAssertEqual(keys(SimpleCNN(numClasses: 10)), try reference("simple_cnn_keys.json"))
        XCTAssertEqual(keys(makeLeNet5()), try reference("lenet_keys.json"))
    }

    /// The PyTorch-trained checkpoint (xz-compressed to keep the fixtures small) unpacked to a temp file.
    func simpleCNNCheckpoint() throws -> String {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("simple_cnn-\(getpid()).pth").path
        let xz = Process()
        xz.executableURL = URL(fileURLWithPath: "/usr/bin/xz")
        xz.arguments = ["-dc", "\(Self.fixtures)/simple_cnn.pth.xz"]
        FileManager.default.createFile(atPath: out, contents: nil)
        xz.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        try xz.run()
        xz.waitUntilExit()
        XCTAssertEqual(xz.terminationStatus, 0)
        return out
    }

    func testPredictMatchesPyTorch() throws {
        let path = try simpleCNNCheckpoint()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let net = SimpleCNN(numClasses: 10)
        try net.loadCheckpoint(path)
        let x = try NpyArray(contentsOfFile: "\(Self.fixtures)/simple_cnn_input.npy")
        let want = try NpyArray(contentsOfFile: "\(Self.fixtures)/simple_cnn_logits.npy")
        net.prepareInference()
        let got = try net(try Tensor(shape: x.shape, values: x.values))
        XCTAssertEqual(got.shape, want.shape)
        let worst = zip(got.values, want.values).map { abs($0 - $1) / (1e-4 + 1e-4 * abs($1)) }.max() ?? .infinity
        print("SimpleCNN: max |Δlogit| \(zip(got.values, want.values).map { abs($0 - $1) }.max() ?? 0), tolerance share \(worst)")
        XCTAssertLessThanOrEqual(worst, 1)

        // The executable does the same from the command line.
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("simple-cnn")
        guard FileManager.default.isExecutableFile(atPath: exe.path) else { return }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("logits-\(getpid()).npy").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = Process()
        p.executableURL = exe
        p.arguments = ["predict", "--checkpoint", path, "--input", "\(Self.fixtures)/simple_cnn_input.npy", "--output", out]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(try NpyArray(contentsOfFile: out).values, got.values)
    }

    func testLeNetTrainsFromScratchAndExportsForPyTorch() throws {
        let (model, accuracy) = try trainLeNet(data: Digits.folder, epochs: 8, seed: 0, log: { print($0) })
        XCTAssertGreaterThanOrEqual(accuracy.last ?? 0, 0.95, "LeNet-5 validation accuracy per epoch: \(accuracy)")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lenet-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pth = dir.appendingPathComponent("lenet.pth").path
        try model.network.saveTorch(to: pth)

        // Read back strictly into a fresh LeNet: the same keys, the same logits.
        let again = makeLeNet5()
        try again.loadCheckpoint(pth)
        XCTAssertEqual(keys(again), try reference("lenet_keys.json"))
        let x = try GreyImages(try ImageFolder.load(Digits.folder).validation.prefix(8).map { $0 }, classes: [])
        model.network.prepareInference()
        again.prepareInference()
        XCTAssertEqual(try again(x.images).values, try model.network(x.images).values)

        // PyTorch's own strict load and forward, when a Python with torch is at hand.
        guard let python = ProcessInfo.processInfo.environment["GRAFT_PYTHON"] else {
            print("LeNet-5 export: GRAFT_PYTHON not set, PyTorch's strict load checked by keys only")
            return
        }
        let xPath = dir.appendingPathComponent("x.npy").path, yPath = dir.appendingPathComponent("y.npy").path
        try NpyArray(shape: x.images.shape, values: x.images.values).write(toFile: xPath)
        let y = try model.network(x.images)
        try NpyArray(shape: y.shape, values: y.values).write(toFile: yPath)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["\(Self.fixtures)/../../tools/check_simple_cnn_export.py", pth, "--arch", "lenet", "--input", xPath, "--logits", yPath]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "PyTorch did not load the export strictly with the same logits")
    }
}
