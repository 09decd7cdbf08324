import CXNNPACK
import GraftModels
import GraftNN
import GraftTensor

/// One input shape's lowering: the XNNPACK runtime, the weights it reads and the NHWC input buffer.
final class XNNPlan {
    let inputShape: [Int]
    let classes: Int
    private let runtime: xnn_runtime_t
    private let weights: XNNWeights
    private let input: UnsafeMutableBufferPointer<Float>
    private static let (inputID, outputID): (UInt32, UInt32) = (0, 1)

    init(model: Model, inputShape: [Int], pool: XNNThreadPool) throws {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        var subgraphHandle: xnn_subgraph_t?
        guard xnn_create_subgraph(2, 0, &subgraphHandle) == xnn_status_success, let subgraph = subgraphHandle else {
            throw XNNLoweringError.xnnpack("could not create a subgraph")
        }
        defer { xnn_delete_subgraph(subgraph) }
        let weights = XNNWeights()
        let e = XNNEmitter(subgraph: subgraph, batch: n, weights: weights)
        model.prepareInference()
        let x = try Self.external(e, shape: [h, w, c], id: Self.inputID, flags: 0x1)  // XNN_VALUE_FLAG_EXTERNAL_INPUT
        let y = try e.flatten(try e.emit(model.network, x))
        guard y.shape == [model.numClasses] else {
            throw XNNLoweringError.shapeMismatch("the graph ends in \(y.shape), not \(model.numClasses) classes")
        }
        guard weights.allFinite else { throw XNNLoweringError.nonFiniteWeights }
        // The last node wrote an internal value; a reshape to the same shape hands it to the caller.
        let out = try Self.external(e, shape: [model.numClasses], id: Self.outputID, flags: 0x2)  // XNN_VALUE_FLAG_EXTERNAL_OUTPUT
        let dims = [n, model.numClasses]
        try e.check(dims.withUnsafeBufferPointer { xnn_define_static_reshape(subgraph, 2, $0.baseAddress, y.id, out.id, 0) },
                    "the output")
        var runtimeHandle: xnn_runtime_t?
        let status = xnn_create_runtime_v2(subgraph, pool.handle, 0, &runtimeHandle)
        guard status == xnn_status_success, let runtime = runtimeHandle else {
            throw XNNLoweringError.xnnpack("could not plan the subgraph (status \(status.rawValue))")
        }
        self.runtime = runtime
        self.weights = weights
        self.inputShape = inputShape
        classes = model.numClasses
        input = XNNWeights.allocate(n * c * h * w)
    }

    deinit {
        xnn_delete_runtime(runtime)
        input.deallocate()
    }

    private static func external(_ e: XNNEmitter, shape: [Int], id: UInt32, flags: UInt32) throws -> XNNValue {
        let dims = [e.batch] + shape
        var out: UInt32 = 0
        try e.check(dims.withUnsafeBufferPointer {
            xnn_define_tensor_value(e.subgraph, xnn_datatype_fp32, dims.count, $0.baseAddress, nil, id, flags, &out)
        }, "an external \(dims) value")
        return XNNValue(id: out, shape: shape)
    }

    /// NCHW in, `[N, classes]` out.
    func run(_ x: Tensor) throws -> Tensor {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        x.withUnsafeBufferPointer { src in
            let plane = h * w
            for i in 0..<n {
                let from = src.baseAddress! + i * c * plane, to = input.baseAddress! + i * c * plane
                for p in 0..<plane { for ch in 0..<c { to[p * c + ch] = from[ch * plane + p] } }
            }
        }
        var y = try Tensor(uninitializedShape: [n, classes])
        let status: xnn_status = y.withUnsafeMutableBufferPointer { out in
            let external = [xnn_external_value(id: Self.inputID, data: UnsafeMutableRawPointer(input.baseAddress!)),
                            xnn_external_value(id: Self.outputID, data: UnsafeMutableRawPointer(out.baseAddress!))]
            let setup = external.withUnsafeBufferPointer { xnn_setup_runtime(runtime, 2, $0.baseAddress) }
            return setup == xnn_status_success ? xnn_invoke_runtime(runtime) : setup
        }
        guard status == xnn_status_success else { throw XNNLoweringError.xnnpack("running the plan failed (status \(status.rawValue))") }
        return y
    }
}
