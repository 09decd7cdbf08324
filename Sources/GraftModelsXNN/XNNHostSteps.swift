import CXNNPACK
import Glibc
import GraftModels
import GraftNN
import GraftTensor

// What XNNPACK has no operator for runs as a host step between two segments, on NHWC plan buffers,
// spread over XNNPACK's own thread pool (a second pool would spin against it): LayerNorm over
// channels (ConvNeXt) and, in `activation`, the erf GELU.

/// `pthreadpool_parallelize_1d` over a Swift closure.
enum XNNParallel {
    private final class Task {
        let body: (Int) -> Void
        init(_ body: @escaping (Int) -> Void) { self.body = body }
    }

    /// Calls `body(i)` for `i` in `0..<count` on the pool's threads (on the caller without a pool).
    static func run(_ pool: pthreadpool_t?, _ count: Int, _ body: @escaping (Int) -> Void) {
        let task = Task(body)
        ThreadSanitizer.release(task)
        withExtendedLifetime(task) {
            pthreadpool_parallelize_1d(pool, { context, i in
                let task = Unmanaged<Task>.fromOpaque(context!).takeUnretainedValue()
                ThreadSanitizer.acquire(task)
                task.body(i)
                ThreadSanitizer.release(task)
            }, Unmanaged.passUnretained(task).toOpaque(), count, 0)
        }
        ThreadSanitizer.acquire(task)
    }
}

/// pthreadpool hands work to its threads and joins them through synchronization ThreadSanitizer
/// cannot see (the library is not instrumented), so under `make tsan` the buffers a host step writes
/// on one thread and reads on another would look unsynchronized. These tell it what the dispatch and
/// the join guarantee; in an ordinary build `__tsan_acquire` / `__tsan_release` are absent and the
/// calls do nothing.
enum ThreadSanitizer {
    private typealias Annotation = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private static let acquireFunction = lookup("__tsan_acquire")
    private static let releaseFunction = lookup("__tsan_release")

    private static func lookup(_ name: String) -> Annotation? {
        dlsym(nil, name).map { unsafeBitCast($0, to: Annotation.self) }
    }

    static func acquire(_ object: AnyObject) { acquireFunction?(Unmanaged.passUnretained(object).toOpaque()) }
    static func release(_ object: AnyObject) { releaseFunction?(Unmanaged.passUnretained(object).toOpaque()) }
}

extension LayerNorm2d: XNNEmittable {
    /// Every pixel's channels are contiguous in NHWC: GraftTensor's `layerNormRows`, a row per pixel.
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        guard x.isMap, x.channels == channels else { throw XNNLoweringError.shapeMismatch("a \(channels)-channel LayerNorm given \(x.shape)") }
        let (gamma, beta, eps, c) = (weight.value.values, bias.value.values, eps, channels)
        let pixelsPerImage = x.height * x.width
        return try e.host([x], shape: x.shape) { inputs, output, batch, pool in
            let pixels = batch * pixelsPerImage, grain = 32
            XNNParallel.run(pool, (pixels + grain - 1) / grain) { chunk in
                let start = chunk * grain
                layerNormRows(inputs[0] + start * c, output + start * c, rows: min(grain, pixels - start), width: c,
                              gamma: gamma, beta: beta, eps: eps)
            }
        }
    }
}

extension ConvNeXt: XNNEmittable {
    /// The classifier's LayerNorm runs on the pooled `[1, 1, C]` map, as in torchvision.
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        try e.emit(classifier, try e.emit(avgpool, try e.emit(features, x)))
    }
}

extension CNBlock: XNNEmittable {
    /// `x + layer_scale · block(x)`.
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        try e.add(try e.mul(try e.emit(block, x), try e.constantValue(layerScale.value.values)), x)
    }
}

extension PointwiseLinear: XNNEmittable {
    /// A Linear over the channels of every pixel: a 1×1 convolution in NHWC.
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue {
        let (out, inputs) = (weight.shape[0], weight.shape[1])
        guard x.isMap, x.channels == inputs else { throw XNNLoweringError.shapeMismatch("a Linear of \(inputs) features given \(x.shape)") }
        let filter = try e.constant(weight.value.values, shape: [out, 1, 1, inputs])
        let b = try e.constant(bias.value.values, shape: [out])
        let source = try e.use(x)
        let y = try e.value([x.height, x.width, out])
        try e.check(xnn_define_convolution_2d(e.subgraph, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, inputs, out, -.infinity, .infinity,
                                              source, filter, b, y.id, 0), "a pointwise Linear \(inputs)→\(out)")
        return y
    }
}

extension Permute: XNNEmittable {
    /// A marker: ConvNeXt's channels-last section is what XNNPACK's NHWC maps already are.
    public func emitXNN(_ x: XNNValue, _ e: XNNEmitter) throws -> XNNValue { x }
}
