import Foundation
import GraftCore
import GraftModels
import GraftNN
import GraftONNX

public enum ONNXExportError: Error, CustomStringConvertible, Equatable {
    case unsupportedModule(String)
    case unsupportedOutputActivation(String)
    case shapeMismatch(String)
    case badSize(Int)
    case tooLarge(bytes: Int)

    public var description: String {
        switch self {
        case .unsupportedModule(let type): return "ONNX export has no operators for the module \(type)"
        case .unsupportedOutputActivation(let name):
            return "ONNX export: the classifier activation '\(String(name.prefix(40)))' is not one Graft applies (linear, softmax, sigmoid)"
        case .shapeMismatch(let what): return "ONNX export: \(what)"
        case .badSize(let size): return "ONNX export: input size \(size) is outside 8…4096"
        case .tooLarge(let bytes):
            return "ONNX export: \(bytes) bytes of weights exceed protobuf's 2 GB limit for one file (ONNX external data is not written)"
        }
    }
}

/// What the exported graph takes: the input size and the preprocessing the caller already applied
/// to the pixels (documented in the file, not part of the graph).
public struct ONNXExportOptions: Sendable {
    /// Keep BatchNormalization nodes instead of folding each into the convolution before it.
    public var keepBatchNorm = false
    /// Input height and width.
    public var height: Int
    public var width: Int
    /// The preprocessing the input expects (mean/std, resize and crop), for the file's doc strings.
    public var preprocessing: String

    public init(height: Int, width: Int, preprocessing: String, keepBatchNorm: Bool = false) {
        self.height = height
        self.width = width
        self.preprocessing = preprocessing
        self.keepBatchNorm = keepBatchNorm
    }
}

/// The result of an export: the serialized model and what it holds.
public struct ONNXExport {
    public let data: Data
    public let inputName: String
    public let outputName: String
    public let nodeCount: Int
    /// float32 elements stored as initializers (the weights, after any folding).
    public let initializerElements: Int
}

/// Turns a zoo model into an ONNX model (opset 17, float32): input `input` `[batch, 3, H, W]`
/// with a symbolic batch axis, output `logits` `[batch, classes]` — or `probabilities` when the
/// model's outputs go through a softmax or sigmoid (Keras applications).
public enum ONNXExporter {
    public static let inputName = "input"
    public static let opsetVersion = ONNXGraphBuilder.opsetVersion

    public static func export(_ model: Model, options: ONNXExportOptions) throws -> ONNXExport {
        for size in [options.height, options.width] where !(8...4096).contains(size) { throw ONNXExportError.badSize(size) }
        model.prepareInference()
        let graph = ONNXGraphBuilder(name: model.arch)
        let outputName: String
        switch model.outputActivation {
        case .linear: outputName = "logits"
        case .softmax, .sigmoid: outputName = "probabilities"
        case .unsupported(let name, _): throw ONNXExportError.unsupportedOutputActivation(name)
        }
        _ = graph.uniqueName(inputName)
        _ = graph.uniqueName(outputName)
        let inputDoc = "float32 [batch, 3, \(options.height), \(options.width)], RGB, NCHW: \(options.preprocessing)"
        graph.addInput(inputName, dimensions: [.symbolic("batch"), .fixed(3), .fixed(options.height), .fixed(options.width)],
                       docString: inputDoc)
        let emitter = ONNXEmitter(graph: graph, network: model.network, keepBatchNorm: options.keepBatchNorm)
        let x = ONNXValue(name: inputName, shape: [3, options.height, options.width])
        let y = emitter.flatten(try emitter.emit(model.network, x))
        guard y.shape == [model.numClasses] else {
            throw ONNXExportError.shapeMismatch("the graph ends in \(y.shape), not \(model.numClasses) classes")
        }
        // A protobuf message cannot exceed 2 GiB; larger models need ONNX's external data files.
        if graph.initializerElements * 4 > Int(Int32.max) - (1 << 24) {
            throw ONNXExportError.tooLarge(bytes: graph.initializerElements * 4)
        }
        let op: String
        var attributes: [(String, ONNXAttribute)] = []
        switch model.outputActivation {
        case .softmax: op = "Softmax"; attributes = [("axis", .int(1))]
        case .sigmoid: op = "Sigmoid"
        default: op = "Identity"
        }
        graph.addNode(op, inputs: [y.name], output: outputName, exactOutput: true, attributes: attributes)
        let outputDoc = model.outputActivation == .linear ? "float32 [batch, \(model.numClasses)] class logits"
            : "float32 [batch, \(model.numClasses)] the logits through \(model.outputActivation.name), as the source model gives them"
        graph.addOutput(outputName, dimensions: [.symbolic("batch"), .fixed(model.numClasses)], docString: outputDoc)
        let doc = "\(model.arch) exported by Graft. Input '\(inputName)': \(inputDoc). Output '\(outputName)': \(outputDoc). "
            + (options.keepBatchNorm ? "BatchNorm kept as BatchNormalization nodes." : "BatchNorm folded into the convolutions.")
        let data = try graph.serializedModel(producerVersion: "1", docString: doc)
        return ONNXExport(data: data, inputName: inputName, outputName: outputName, nodeCount: graph.nodeCount,
                          initializerElements: graph.initializerElements)
    }

    /// Exports and writes atomically: the file appears whole or not at all.
    public static func write(_ model: Model, to path: String, options: ONNXExportOptions) throws -> ONNXExport {
        let result = try export(model, options: options)
        let writer = try AtomicFileWriter(destination: path)
        do {
            try result.data.withUnsafeBytes { try writer.write($0) }
            try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
        return result
    }
}
