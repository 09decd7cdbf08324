import Foundation
import GraftCore
import GraftModels
import GraftModelsONNX
import GraftModelsTestSupport
import GraftTensor
import GraftTestSupport
import XCTest

/// ONNX Runtime runs every family's export, folded and kept, at batch 1 and 3, and gives Graft's own
/// outputs within 1e-4. Runs only when `GRAFT_PYTHON` names a Python with onnxruntime
/// (`GRAFT_PYTHON=.venv/bin/python swift test --filter ONNXRuntimeParity`).
final class ONNXRuntimeParityTests: XCTestCase {
    private static let runner = """
        import sys, numpy as np, onnxruntime as ort
        try:
            import onnx  # when present, ONNX's own checker (with shape inference) reads every file too
        except ImportError:
            onnx = None
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        args = sys.argv[1:]
        for i in range(0, len(args), 3):
            model, x, out = args[i:i + 3]
            if onnx is not None:
                onnx.checker.check_model(model, full_check=True)
            session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
            np.save(out, session.run(None, {"input": np.load(x)})[0])
        print("ort ok", len(args) // 3)
        """

    func testONNXRuntimeMatchesGraftForEveryFamily() throws {
        guard let python = ProcessInfo.processInfo.environment["GRAFT_PYTHON"] else {
            throw XCTSkip("set GRAFT_PYTHON to a Python with onnxruntime to run ONNX Runtime on the exports")
        }
        let dir = TestPaths.temporaryDirectory("graft-onnx")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("run.py")
        try Self.runner.write(to: script, atomically: true, encoding: .utf8)
        var jobs: [String] = []
        var expected: [(name: String, output: String, want: Tensor)] = []
        for (n, entry) in ZooMiniatures.all.enumerated() {
            let model: Model
            do { model = try ZooMiniatures.model(entry) } catch { XCTFail("\(entry.name): \(error)"); continue }
            for keep in [false, true] {
                let file = dir.appendingPathComponent("m\(n)_\(keep).onnx").path
                _ = try ONNXExporter.write(model, to: file, options: ZooMiniatures.options(entry, keepBatchNorm: keep))
                for batch in [1, 3] {
                    let x = try ZooMiniatures.input(batch: batch, entry)
                    let xPath = dir.appendingPathComponent("x\(n)_\(batch).npy").path
                    try NpyArray(shape: x.shape, values: x.values).write(toFile: xPath)
                    let out = dir.appendingPathComponent("y\(n)_\(keep)_\(batch).npy").path
                    jobs += [file, xPath, out]
                    expected.append(("\(entry.name) \(keep ? "kept" : "folded") batch \(batch)", out, try model.outputs(x)))
                }
            }
        }
        let (status, text) = try PythonProcess.run(python, [script.path] + jobs)
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("ort ok \(expected.count)"), text)
        var report: [String] = []
        for e in expected {
            let got = try NpyArray(contentsOfFile: e.output)
            XCTAssertEqual(got.shape, e.want.shape, e.name)
            let worst = zip(got.values, e.want.values).map { abs($0 - $1) }.max() ?? .infinity
            report.append("\(e.name): max |ORT − Graft| \(worst)")
            XCTAssertLessThanOrEqual(worst, 1e-4, "\(e.name): max |ORT − Graft| \(worst)")
            XCTAssertFalse(e.want.values.allSatisfy { $0 == 0 }, "\(e.name): a trivial output proves nothing")
        }
        print(report.joined(separator: "\n"))
    }
}
