import CXNNPACK
import GraftModels
import GraftNN
import GraftTensor

/// One input shape's lowering: the runtimes of its segments and the host steps between them, in
/// order, the plan buffers they exchange values through, and the weights they read.
final class XNNPlan {
    let inputShape: [Int]
    /// Columns of the output: classes, or features.
    let width: Int
    private let steps: [Step]
    private let slots: [UnsafeMutableBufferPointer<Float>]
    private let (inputSlot, outputSlot): (Int, Int)
    private let weights: XNNWeights
    private let pool: XNNThreadPool

    private enum Step {
        case runtime(xnn_runtime_t)
        /// A host step with its plan buffers resolved once (they never move): no array per run.
        case host(XNNHostStep.Body, inputs: [UnsafeMutablePointer<Float>], output: UnsafeMutablePointer<Float>)
    }

    init(model: Model, inputShape: [Int], pool: XNNThreadPool, output: InferenceOutput) throws {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let weights = XNNWeights()
        let e = try XNNEmitter(batch: n, weights: weights)
        if output == .features {
            guard model.featuresArePooled, let split = model.network as? FeatureHeadNetwork,
                  let head = model.network.module(at: split.headPath) else {
                throw XNNLoweringError.unsupportedModule("\(model.arch)'s features (not pooled rows before one head module)")
            }
            e.stopBefore = ObjectIdentifier(head)
        }
        model.prepareInference()
        let inputSlot = e.newSlot([h, w, c])
        let x = XNNValue(id: UInt32(inputSlot), shape: [h, w, c], segment: XNNValue.inSlot)
        var y = try e.flatten(try e.emit(model.network, x))
        if output == .features {
            guard let features = e.captured else { throw XNNLoweringError.shapeMismatch("the classifier was not reached") }
            y = features
        }
        let width = output == .features ? model.featureCount : model.numClasses
        guard y.shape == [width] else {
            throw XNNLoweringError.shapeMismatch("the graph ends in \(y.shape), not \(width) \(output == .features ? "features" : "classes")")
        }
        outputSlot = try e.slot(of: y)
        guard weights.allFinite else { throw XNNLoweringError.nonFiniteWeights }
        let slots = e.slotShapes.map { XNNWeights.allocate(n * $0.reduce(1, *)) }
        var steps: [Step] = []
        do {
            for step in e.steps {
                switch step {
                case .host(let h):
                    steps.append(.host(h.run, inputs: h.inputs.map { slots[$0].baseAddress! }, output: slots[h.output].baseAddress!))
                case .segment(let index):
                    let segment = e.segments[index]
                    guard segment.nodes > 0 else { continue }
                    var handle: xnn_runtime_t?
                    let status = xnn_create_runtime_v2(segment.subgraph, pool.handle, 0, &handle)
                    guard status == xnn_status_success, let runtime = handle else {
                        throw XNNLoweringError.xnnpack("could not plan segment \(index) (status \(status.rawValue))")
                    }
                    steps.append(.runtime(runtime))
                    // The buffers never move, so each runtime is bound to them once.
                    let external = segment.externals.map { xnn_external_value(id: $0.id, data: UnsafeMutableRawPointer(slots[$0.slot].baseAddress!)) }
                    let setup = external.withUnsafeBufferPointer { xnn_setup_runtime(runtime, $0.count, $0.baseAddress) }
                    guard setup == xnn_status_success else { throw XNNLoweringError.xnnpack("could not bind segment \(index) (status \(setup.rawValue))") }
                }
            }
        } catch {
            Self.release(steps, slots)
            throw error
        }
        self.steps = steps
        self.slots = slots
        self.inputSlot = inputSlot
        self.weights = weights
        self.pool = pool
        self.inputShape = inputShape
        self.width = width
    }

    deinit { Self.release(steps, slots) }

    private static func release(_ steps: [Step], _ slots: [UnsafeMutableBufferPointer<Float>]) {
        for case .runtime(let r) in steps { xnn_delete_runtime(r) }
        for s in slots { s.deallocate() }
    }

    /// NCHW in, `[N, width]` out.
    func run(_ x: Tensor) throws -> Tensor {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let input = slots[inputSlot].baseAddress!
        x.withUnsafeBufferPointer { src in
            let plane = h * w
            for i in 0..<n {
                let from = src.baseAddress! + i * c * plane, to = input + i * c * plane
                if c == 3 {
                    // RGB, every image model's input: the channel loop unrolled (0.014 instead of 0.11 ms per 224²
                    // image, which is 3 % of a MobileNetV3 forward).
                    let r = from, g = from + plane, b = from + 2 * plane
                    for p in 0..<plane {
                        to[3 * p] = r[p]
                        to[3 * p + 1] = g[p]
                        to[3 * p + 2] = b[p]
                    }
                } else {
                    for p in 0..<plane { for ch in 0..<c { to[p * c + ch] = from[ch * plane + p] } }
                }
            }
        }
        for step in steps {
            switch step {
            case .runtime(let runtime):
                let status = xnn_invoke_runtime(runtime)
                guard status == xnn_status_success else { throw XNNLoweringError.xnnpack("running the plan failed (status \(status.rawValue))") }
            case .host(let body, let inputs, let output):
                body(inputs, output, n, pool.handle)
            }
        }
        var y = try Tensor(uninitializedShape: [n, width])
        y.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: slots[outputSlot].baseAddress!, count: n * width) }
        return y
    }
}
