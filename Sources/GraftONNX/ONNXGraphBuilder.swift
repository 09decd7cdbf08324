import Foundation
import SwiftProtobuf

/// A node attribute, in the handful of kinds a CNN graph needs.
public enum ONNXAttribute: Equatable, Sendable {
    case int(Int)
    case ints([Int])
    case float(Float)
    case string(String)
}

/// A dimension of a graph input or output: a fixed size or a named symbolic one (the batch).
public enum ONNXDimension: Equatable, Sendable {
    case fixed(Int)
    case symbolic(String)
}

/// Builds one float32 ONNX graph — nodes in topological order, weights as initializers — and
/// serializes it as a `ModelProto`. It knows the ONNX format only, nothing of models: the caller
/// (GraftModelsONNX) decides which operators to emit.
///
/// Initializers are stored as `raw_data` (little-endian float32, as the ONNX spec fixes it), so the
/// file is the weights plus a few kilobytes of graph.
public final class ONNXGraphBuilder {
    public static let opsetVersion = 17
    /// IR version 8 is the one that goes with opset 17; readers accept any later IR as well.
    public static let irVersion = 8

    private var graph = Onnx_GraphProto()
    private var usedNames = Set<String>()
    private var counter = 0

    public init(name: String) { graph.name = name }

    public var nodeCount: Int { graph.node.count }

    /// Total float32 elements stored as initializers.
    public private(set) var initializerElements = 0

    /// A fresh value name: `base`, or `base_2`, `base_3` … when it is taken.
    public func uniqueName(_ base: String) -> String {
        var name = base.isEmpty ? "v" : base
        while usedNames.contains(name) {
            counter += 1
            name = "\(base)_\(counter)"
        }
        usedNames.insert(name)
        return name
    }

    /// Declares a float32 graph input.
    public func addInput(_ name: String, dimensions: [ONNXDimension], docString: String = "") {
        usedNames.insert(name)
        graph.input.append(Self.valueInfo(name, dimensions, docString))
    }

    /// Declares a float32 graph output (the value must be produced by a node).
    public func addOutput(_ name: String, dimensions: [ONNXDimension], docString: String = "") {
        graph.output.append(Self.valueInfo(name, dimensions, docString))
    }

    /// A float32 initializer named after `base` (made unique); returns its name.
    public func addInitializer(_ base: String, shape: [Int], values: [Float]) -> String {
        precondition(shape.reduce(1, *) == values.count, "ONNX initializer \(base): \(values.count) values for shape \(shape)")
        var tensor = Onnx_TensorProto()
        tensor.name = uniqueName(base)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.dims = shape.map(Int64.init)
        #if _endian(little)
        tensor.rawData = values.withUnsafeBufferPointer { Data(buffer: $0) }
        #else
        tensor.rawData = Data(values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) })
        #endif
        graph.initializer.append(tensor)
        initializerElements += values.count
        return tensor.name
    }

    /// An int64 initializer (shapes, pads, slice bounds); returns its name.
    public func addInt64Initializer(_ base: String, values: [Int]) -> String {
        var tensor = Onnx_TensorProto()
        tensor.name = uniqueName(base)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        tensor.dims = [Int64(values.count)]
        tensor.int64Data = values.map(Int64.init)
        graph.initializer.append(tensor)
        return tensor.name
    }

    /// Appends a node; its single output is named after `output` (made unique) unless `exactOutput`
    /// names it exactly (a graph output). Returns the output's name. An empty input name is an
    /// omitted optional input.
    @discardableResult
    public func addNode(_ op: String, inputs: [String], output: String, exactOutput: Bool = false,
                        attributes: [(String, ONNXAttribute)] = []) -> String {
        var node = Onnx_NodeProto()
        node.opType = op
        node.input = inputs
        let out = exactOutput ? output : uniqueName(output)
        if exactOutput { usedNames.insert(out) }
        node.output = [out]
        node.name = out
        node.attribute = attributes.map(Self.attribute)
        graph.node.append(node)
        return out
    }

    /// The serialized `ModelProto`.
    public func serializedModel(producerVersion: String, docString: String) throws -> Data {
        var model = Onnx_ModelProto()
        model.irVersion = Int64(Self.irVersion)
        model.producerName = "graft"
        model.producerVersion = producerVersion
        model.docString = docString
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Int64(Self.opsetVersion)
        model.opsetImport = [opset]
        model.graph = graph
        return try model.serializedData()
    }

    private static func valueInfo(_ name: String, _ dimensions: [ONNXDimension], _ doc: String) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dimensions.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            switch d {
            case .fixed(let n): dim.dimValue = Int64(n)
            case .symbolic(let s): dim.dimParam = s
            }
            return dim
        }
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensor
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        if !doc.isEmpty { info.docString = doc }
        return info
    }

    private static func attribute(_ named: (String, ONNXAttribute)) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = named.0
        switch named.1 {
        case .int(let v): a.type = .int; a.i = Int64(v)
        case .ints(let v): a.type = .ints; a.ints = v.map(Int64.init)
        case .float(let v): a.type = .float; a.f = v
        case .string(let v): a.type = .string; a.s = Data(v.utf8)
        }
        return a
    }
}
