import Foundation
import GraftModels
import GraftModelsONNX
import GraftModelsTestSupport
import GraftNN
import GraftONNX
import XCTest

/// The exported protobuf itself: opset, the input and output with their symbolic batch axis, a
/// well-ordered graph, BatchNorm folded or kept as asked, and the weights as initializers.
final class ONNXStructureTests: XCTestCase {
    func testEveryFamilyExportsAWellFormedGraphFoldedAndKept() throws {
        for entry in ZooMiniatures.all {
            do { try checkExports(entry) } catch { XCTFail("\(entry.name): \(error)") }
        }
    }

    private func checkExports(_ entry: ZooMiniatures.Entry) throws {
        do {
            let model = try ZooMiniatures.model(entry)
            let kept = try ONNXExporter.export(model, options: ZooMiniatures.options(entry, keepBatchNorm: true))
            let folded = try ONNXExporter.export(model, options: ZooMiniatures.options(entry, keepBatchNorm: false))
            for (export, keep) in [(kept, true), (folded, false)] {
                let proto = try Onnx_ModelProto(serializedBytes: export.data)
                let output = model.outputActivation == .linear ? "logits" : "probabilities"
                try checkHeader(proto, entry: entry, classes: model.numClasses, output: output, name: entry.name)
                try checkTopologicalOrder(proto.graph, output: output, name: entry.name)
                let norms = proto.graph.node.filter { $0.opType == "BatchNormalization" }.count
                if keep {
                    XCTAssertEqual(norms, Self.runningBatchNorms(model), "\(entry.name): every BatchNorm2d a node")
                    try checkWeightsAreInitializers(model, proto.graph, name: entry.name)
                } else {
                    XCTAssertLessThanOrEqual(norms, Self.runningBatchNorms(model), entry.name)
                    if Self.runningBatchNorms(model) > 0 && !(model.network is DenseNet) {
                        XCTAssertEqual(norms, 0, "\(entry.name): every BatchNorm follows a convolution and is folded")
                    }
                    XCTAssertLessThanOrEqual(export.initializerElements, kept.initializerElements, entry.name)
                }
                // The file is its initializers and a little graph.
                let initializerBytes = proto.graph.initializer.reduce(0) { $0 + $1.rawData.count + $1.int64Data.count * 8 }
                XCTAssertGreaterThanOrEqual(export.data.count, initializerBytes, entry.name)
                XCTAssertLessThan(export.data.count, initializerBytes + 400 * proto.graph.node.count + 4096, entry.name)
            }
        }
    }

    func testAModelThatEndsInSoftmaxOutputsProbabilities() throws {
        let entry = ZooMiniatures.all[0]
        let model = try ZooMiniatures.model(entry)
        model.outputActivation = .softmax
        let export = try ONNXExporter.export(model, options: ZooMiniatures.options(entry, keepBatchNorm: false))
        let proto = try Onnx_ModelProto(serializedBytes: export.data)
        XCTAssertEqual(export.outputName, "probabilities")
        XCTAssertEqual(proto.graph.output.map(\.name), ["probabilities"])
        XCTAssertEqual(proto.graph.node.last?.opType, "Softmax")
        model.outputActivation = .unsupported(name: "tanh", store: "s")
        XCTAssertThrowsError(try ONNXExporter.export(model, options: ZooMiniatures.options(entry, keepBatchNorm: false))) {
            XCTAssertEqual($0 as? ONNXExportError, .unsupportedOutputActivation("tanh"))
        }
    }

    func testAnInputTooSmallForTheNetworkIsAnErrorNotAGraph() throws {
        let entry = ZooMiniatures.Entry(checkpoint: "zoo/classic/inception_v3_mini.pth", arch: "manifest", height: 9, width: 9)
        let model = try ZooMiniatures.model(entry)
        XCTAssertThrowsError(try ONNXExporter.export(model, options: ZooMiniatures.options(entry, keepBatchNorm: false))) {
            guard case .shapeMismatch = $0 as? ONNXExportError else { return XCTFail("\($0)") }
        }
        let tiny = ZooMiniatures.Entry(checkpoint: entry.checkpoint, arch: "manifest", height: 4, width: 4)
        XCTAssertThrowsError(try ONNXExporter.export(model, options: ZooMiniatures.options(tiny, keepBatchNorm: false))) {
            XCTAssertEqual($0 as? ONNXExportError, .badSize(4))
        }
    }

    // MARK: - Checks

    private func checkHeader(_ proto: Onnx_ModelProto, entry: ZooMiniatures.Entry, classes: Int, output outputName: String,
                             name: String) throws {
        XCTAssertEqual(proto.opsetImport.map(\.version), [17], name)
        XCTAssertEqual(proto.opsetImport.map(\.domain), [""], name)
        XCTAssertEqual(proto.irVersion, 8, name)
        XCTAssertTrue(proto.docString.contains("Input 'input'"), name)
        XCTAssertEqual(proto.graph.input.map(\.name), ["input"], name)
        let input = proto.graph.input[0].type.tensorType
        XCTAssertEqual(input.elemType, 1, "\(name): float32")
        XCTAssertEqual(input.shape.dim.map(\.dimParam), ["batch", "", "", ""], name)
        XCTAssertEqual(input.shape.dim.dropFirst().map(\.dimValue), [3, Int64(entry.height), Int64(entry.width)], name)
        XCTAssertTrue(proto.graph.input[0].docString.contains("test input"), name)
        XCTAssertEqual(proto.graph.output.map(\.name), [outputName], name)
        let output = proto.graph.output[0].type.tensorType.shape.dim
        XCTAssertEqual(output.map(\.dimParam), ["batch", ""], name)
        XCTAssertEqual(output.last?.dimValue, Int64(classes), name)
    }

    /// Every node reads only the input, initializers and earlier nodes' outputs; names are unique.
    private func checkTopologicalOrder(_ graph: Onnx_GraphProto, output: String, name: String) throws {
        var known = Set(graph.input.map(\.name))
        for t in graph.initializer { XCTAssertTrue(known.insert(t.name).inserted, "\(name): duplicate \(t.name)") }
        for node in graph.node {
            for input in node.input where !input.isEmpty {
                XCTAssertTrue(known.contains(input), "\(name): \(node.opType) reads \(input) before it exists")
            }
            for output in node.output { XCTAssertTrue(known.insert(output).inserted, "\(name): \(output) written twice") }
        }
        XCTAssertTrue(known.contains(output), name)
        let used = Set(graph.node.flatMap(\.input))
        for t in graph.initializer { XCTAssertTrue(used.contains(t.name), "\(name): initializer \(t.name) unused") }
    }

    /// With BatchNorm kept, every tensor the evaluation graph uses is an initializer with the
    /// checkpoint's own name and bytes.
    private func checkWeightsAreInitializers(_ model: Model, _ graph: Onnx_GraphProto, name: String) throws {
        let byName = Dictionary(graph.initializer.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let skipped = model.auxiliaryPaths
        // Keras' input Normalization enters as the per-channel constants Graft computes from it.
        for (key, p) in model.network.namedParameters()
        where !skipped.contains(where: { key.hasPrefix($0 + ".") }) && !key.hasPrefix("normalization.") {
            guard let t = byName[key] else {
                // A PointwiseLinear's weight is stored as the 1×1 kernel it is.
                XCTAssertTrue(key.hasSuffix(".weight") && p.shape.count == 2, "\(name): \(key) is not an initializer")
                continue
            }
            let values = t.rawData.withUnsafeBytes { raw in
                (0..<raw.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
            XCTAssertEqual(values, p.value.values, "\(name): \(key)")
            XCTAssertEqual(t.dims.map(Int.init), p.shape.isEmpty ? [] : p.shape, "\(name): \(key)")
        }
    }

    /// BatchNorm2d modules the evaluation graph runs (the auxiliary classifiers' are never run).
    static func runningBatchNorms(_ model: Model) -> Int {
        model.network.namedModules().filter { m in
            m.module is BatchNorm2d && !model.auxiliaryPaths.contains { m.path.hasPrefix($0 + ".") }
        }.count
    }
}
