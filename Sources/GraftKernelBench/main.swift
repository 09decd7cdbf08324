// GraftKernelBench: micro-benchmarks of the GraftTensor kernels.
//
//   swift build -c release --product GraftKernelBench
//   .build/release/GraftKernelBench [SUITE…] [--batch N] [--threads N] [--reps N] [--wait-idle] [--cold]
//       [--ab winograd|blas|panels|tile] [--no-winograd] [--training-tile] [--no-transposed] [--blas-threads]
//       [--act NAME]
//
// Suites: sgemm, resnet50, effnet, vgg16, convnext (convolution shape classes of each network, with the
// sum over the network weighted by how often each occurs), backward (ResNet-18 training kernels
// at batch 16), ops (pools, FC, SE scaling, residual add), activations, parallel (speed-up
// probe), conv IN OUT K STRIDE SIZE [GROUPS] (one shape), list (the shape classes as tab-separated
// lines, which tools/ab/ab_conv.c reads), all (the first five).
//
// Every timing is the median (and minimum) of `reps` runs after two warm-up runs: other
// processes share the cores, so `--wait-idle` first waits until a compute-bound loop really
// runs twice as fast on two threads. `--ab` alternates the default with one setting flipped,
// in rounds, so both see the same machine load (the settings are `ConvolutionOptions` passed
// with each call; `--no-winograd` etc. change the default the variant is compared with).
// Compare with PyTorch using tools/bench_torch_kernels.py on the same shapes.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GraftTensor

struct Options {
    var suites: [String] = []
    var batch: Int?
    var reps = 9
    var extra: [String] = []
    /// The algorithms every kernel call uses.
    var conv = ConvolutionOptions.machineDefault
    /// `--ab NAME`: also time each convolution with one setting of `conv` flipped.
    var ab: ((ConvolutionOptions) -> ConvolutionOptions)?
    var activation: Activation = .relu
    var waitForIdle = false
    /// `--tsv`: convolution timings as tab-separated lines (suite, name, engine, median ms, min ms), as
    /// tools/ab/ab_conv.c prints them, so tools/ab/ab_table.py can join the two.
    var tsv = false
}

func parseOptions() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    while let a = args.popFirst() {
        switch a {
        case "--batch": o.batch = args.popFirst().flatMap { Int($0) }
        case "--threads": Parallel.threads = args.popFirst().flatMap { Int($0) } ?? Parallel.threads
        case "--reps": o.reps = args.popFirst().flatMap { Int($0) } ?? o.reps
        case "--blas-threads": o.conv.gemmThreads = .blas
        case "--wait-idle": o.waitForIdle = true
        case "--tsv": o.tsv = true
        case "--cold": break
        case "--no-winograd": o.conv.winograd = false
        case "--training-tile": o.conv = o.conv.training
        case "--no-transposed": o.conv.transposedInputGradient = false
        case "--wino":
            let v = (args.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
            if v.count >= 2 {
                o.conv.winogradBlocks = .init(blockFloats: v[0], minimumCacheBlock: v[1], bigBlockFactor: v.count > 2 ? v[2] : 8)
            }
        case "--act":
            let name = args.popFirst() ?? ""
            o.activation = ["none": .none, "relu": .relu, "relu6": .relu6, "silu": .silu, "sigmoid": .sigmoid,
                            "hardswish": .hardswish, "hardsigmoid": .hardsigmoid, "gelu": .gelu][name] ?? .relu
        case "--ab":
            switch args.popFirst() {
            case "winograd": o.ab = { var v = $0; v.winograd.toggle(); return v }
            case "blas": o.ab = { var v = $0; v.gemmThreads = v.gemmThreads == .blas ? .split : .blas; return v }
            case "panels": o.ab = { var v = $0; v.packedWeights.toggle(); return v }
            case "winolayout":
                o.ab = {
                    var v = $0
                    v.winogradBlocks.columnPanelTiles = v.winogradBlocks.columnPanelTiles > 0 ? 0 : ConvolutionOptions.columnPanelColumns
                    return v
                }
            case "colpanels":
                o.ab = {
                    var v = $0
                    // The default (56×56 planes included) against the former bound (under 1024 pixels).
                    let standard = ConvolutionOptions().columnPanelPlanes
                    v.columnPanelPlanes = v.columnPanelPlanes == standard ? ConvolutionOptions.columnPanelColumns : standard
                    return v
                }
            case "tile":
                o.ab = { var v = $0; v.winogradTile = v.winogradTile == .twoByTwo ? .fourByFour : .twoByTwo; return v }
            default: print("--ab takes winograd, blas, panels, winolayout, colpanels or tile"); exit(2)
            }
        default:
            if Int(a) != nil { o.extra.append(a) } else { o.suites.append(a) }
        }
    }
    if o.suites.isEmpty || o.suites == ["all"] { o.suites = ["sgemm", "resnet50", "effnet", "vgg16", "backward"] }
    return o
}

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// `--cold`: every timed run starts with the caches flushed (128 MB written), as in a network's
/// forward, where each layer's weights come from DRAM (ResNet-50's are 100 MB); the default keeps
/// them warm, as repeating one layer does.
let coldCaches = CommandLine.arguments.contains("--cold")
nonisolated(unsafe) var flushBuffer = [UInt32](repeating: 0, count: coldCaches ? 32 << 20 : 0)

/// (median, min) seconds of `body` over `reps` runs after warm-up.
func measure(reps: Int, _ body: () throws -> Void) rethrows -> (median: Double, min: Double) {
    try body()
    try body()
    var times: [Double] = []
    for _ in 0..<max(reps, 1) {
        if coldCaches {
            flushBuffer.withUnsafeMutableBufferPointer { b in for i in stride(from: 0, to: b.count, by: 16) { b[i] &+= 1 } }
        }
        let t0 = now()
        try body()
        times.append(now() - t0)
    }
    times.sort()
    return (times[times.count / 2], times[0])
}

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
func fmt(_ v: Double, _ digits: Int = 2) -> String {
    var s = "\(Double(Int((v * pow(10, Double(digits))).rounded())) / pow(10, Double(digits)))"
    if !s.contains(".") { s += ".0" }
    return s
}

func randomTensor(_ shape: [Int], seed: UInt64) throws -> Tensor {
    var state = seed
    let n = shape.reduce(1, *)
    var values = [Float](repeating: 0, count: n)
    for i in 0..<n {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        values[i] = Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
    }
    return try Tensor(shape: shape, values: values)
}

func benchSgemm(_ o: Options) throws {
    print("== sgemm (row-major, C = A·B), \(Gemm.backendDescription)")
    let shapes = [(1024, 1024, 1024), (64, 3136, 576), (256, 3136, 64), (512, 49, 4608), (2048, 49, 512),
                  (64, 12544, 147), (128, 784, 1152), (4096, 1, 25088), (1000, 8, 2048)]
    let saved = Parallel.threads
    for (m, n, k) in shapes {
        let a = try randomTensor([m, k], seed: 1), b = try randomTensor([k, n], seed: 2)
        var c = try Tensor(shape: [m, n])
        var line = pad("M\(m) N\(n) K\(k)", 22)
        for threads in [1, saved] {
            Parallel.threads = threads
            let t = try measure(reps: o.reps) {
                try a.withUnsafeBufferPointer { pa in
                    try b.withUnsafeBufferPointer { pb in
                        try c.withUnsafeMutableBufferPointer { pc in
                            guard let a = pa.baseAddress, let b = pb.baseAddress, let c = pc.baseAddress else { return }
                            try Gemm.sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1,
                                           a: a, lda: k, b: b, ldb: n, beta: 0, c: c, ldc: n,
                                           threadPolicy: o.conv.gemmThreads)
                        }
                    }
                }
            }
            line += "  \(threads)t " + pad(fmt(2 * Double(m * n * k) / t.median / 1e9, 1), 7) + "GF/s"
        }
        Parallel.threads = saved
        print(line)
    }
}

func benchConvs(_ title: String, _ shapes: [ConvShape], batch: Int, _ o: Options) throws {
    if !o.tsv {
        print("== \(title), batch \(batch), \(Parallel.threads) threads")
        print(pad("conv", 28) + pad("count", 7) + pad("ms (median)", 13) + pad("ms (min)", 10) + "GFLOP/s")
    }
    var total = 0.0, totalMin = 0.0, totalFlops = 0.0
    var abTotals = (0.0, 0.0)
    for s in shapes {
        let x = try randomTensor([batch, s.inC, s.size, s.size], seed: 3)
        let w = try randomTensor([s.outC, s.inC / s.groups, s.k, s.k], seed: 4)
        let b = try randomTensor([s.outC], seed: 5)
        let p = Conv2dParams(stride: s.stride, padding: s.padding, groups: s.groups)
        let flops = s.flops(batch: batch)
        func run(_ options: ConvolutionOptions) throws {
            _ = try conv2d(x, weight: w, bias: b, params: p, activation: s.activation, options: options)
        }
        if let flip = o.ab {
            // Alternate the default and the variant in rounds so both see the same machine load.
            let variant = flip(o.conv)
            var a: [Double] = [], v: [Double] = []
            for _ in 0..<8 {
                a.append(try measure(reps: max(o.reps / 4, 3)) { try run(o.conv) }.min)
                v.append(try measure(reps: max(o.reps / 4, 3)) { try run(variant) }.min)
            }
            a.sort(); v.sort()
            abTotals.0 += a[4] * Double(s.count)
            abTotals.1 += v[4] * Double(s.count)
            print(pad(s.name, 28) + "default min \(fmt(a[0] * 1e3, 3)) med \(fmt(a[4] * 1e3, 3))   variant min \(fmt(v[0] * 1e3, 3)) med \(fmt(v[4] * 1e3, 3))  ms")
            continue
        }
        let t = try measure(reps: o.reps) { try run(o.conv) }
        if o.tsv {
            print([title, s.name, "graft", fmt(t.median * 1e3, 4), fmt(t.min * 1e3, 4)].joined(separator: "\t"))
            continue
        }
        total += t.median * Double(s.count)
        totalMin += t.min * Double(s.count)
        totalFlops += flops * Double(s.count)
        print(pad(s.name, 28) + pad("×\(s.count)", 7) + pad(fmt(t.median * 1e3, 3), 13) + pad(fmt(t.min * 1e3, 3), 10)
              + fmt(flops / t.median / 1e9, 1))
    }
    if o.tsv { return }
    if o.ab != nil {
        print("sum of medians × count: default \(fmt(abTotals.0 * 1e3, 2)) ms, variant \(fmt(abTotals.1 * 1e3, 2)) ms\n")
        return
    }
    print("sum of convolutions: \(fmt(total * 1e3, 2)) ms (sum of minima \(fmt(totalMin * 1e3, 2)) ms) for"
          + " \(fmt(totalFlops / 1e9, 2)) GFLOP (\(fmt(totalFlops / total / 1e9, 1)) GFLOP/s)\n")
}

/// How much faster a compute-bound loop runs on all threads than on one: other processes on
/// the machine show up as a speed-up well below the thread count.
///
/// `keptBusy`: the threads first run the loop together for ~0.1 s, so every vCPU is running when the
/// timing starts. Without it the pool's worker has slept through the one-thread run (~20 ms), and on
/// this project's 2-vCPU VMs the idle vCPU then often did not run it again for over 20 ms (the worker
/// runnable there with no CPU time): the probe read 1.0× in most runs while the same loop kept busy,
/// a forward pass, or new threads running for 0.4 s ran at 2×. The first figure is what continuous
/// work (a benchmark's iterations) gets; the second, how quickly an idle vCPU comes back.
func parallelSpeedup(keptBusy: Bool = true) -> Double {
    var sink = [Double](repeating: 0, count: 64)
    func job() {
        sink.withUnsafeMutableBufferPointer { s in
            let base = s.baseAddress
            Parallel.forEach(8) { i in
                var acc = 0.0
                for k in 0..<500_000 { acc += Double(k & 7) * 1.0000001 }
                base?[8 * i] = acc  // a cache line per piece
            }
        }
    }
    func run() -> Double { measure(reps: 5) { job() }.median }
    let saved = Parallel.threads
    Parallel.threads = 1
    let one = run()
    Parallel.threads = saved
    if keptBusy { for _ in 0..<40 { job() } }
    return one / run()
}

BLASRuntime.stopLoadTimeThreads()
let options = parseOptions()
if options.waitForIdle {
    // Wait (up to ~2 minutes) until both cores are really ours before measuring.
    for attempt in 0..<24 {
        let s = parallelSpeedup()
        if s >= 0.85 * Double(Parallel.threads) { break }
        print("machine busy (parallel speed-up \(fmt(s, 2))×), waiting… [\(attempt + 1)]")
        sleep(5)
    }
}
print("GraftKernelBench: \(Parallel.threads) threads, gemm policy \(options.conv.gemmThreads), winograd \(options.conv.winograd), packed weights \(options.conv.packedWeights)")
do {
    for suite in options.suites {
        switch suite {
        case "sgemm": try benchSgemm(options)
        case "resnet50": try benchConvs("ResNet-50 convolutions", resnet50Convs, batch: options.batch ?? 1, options)
        case "resnet50x8": try benchConvs("ResNet-50 convolutions", resnet50Convs, batch: 8, options)
        case "effnet": try benchConvs("EfficientNet-B0 convolutions", efficientNetB0Convs, batch: options.batch ?? 1, options)
        case "vgg16": try benchConvs("VGG-16 convolutions", vgg16Convs, batch: options.batch ?? 1, options)
        case "convnext": try benchConvs("ConvNeXt-Tiny convolutions", convNeXtTinyConvs, batch: options.batch ?? 1, options)
        case "backward": try benchBackward(options)
        case "list":
            // The shape classes as tab-separated lines, for tools/ab (the same layers through oneDNN and XNNPACK).
            for (net, shapes) in [("resnet50", resnet50Convs), ("effnet", efficientNetB0Convs), ("vgg16", vgg16Convs),
                                  ("convnext", convNeXtTinyConvs)] {
                for c in shapes {
                    print([net, c.name, "\(c.inC)", "\(c.outC)", "\(c.k)", "\(c.stride)", "\(c.size)", "\(c.groups)",
                           "\(c.activation)", "\(c.count)"].joined(separator: "\t"))
                }
            }
        case "parallel":
            // The idle case first: the process's first parallel work, as after any long single-threaded stretch.
            let afterIdle = parallelSpeedup(keptBusy: false), busy = parallelSpeedup()
            print("parallel speed-up on \(Parallel.threads) threads: \(fmt(busy, 2))× kept busy, "
                  + "\(fmt(afterIdle, 2))× straight after one-thread work")
        case "maxpool-indices":
            let stem = try randomTensor([options.batch ?? 1, 64, 112, 112], seed: 1)
            let t = try measure(reps: options.reps) { _ = try maxPool2dWithIndices(stem, Pool2dParams(kernel: 3, stride: 2, padding: 1)) }
            print("maxpool with indices: \(fmt(t.median * 1e3, 3)) ms")
        case "ops":
            // The non-convolution kernels of a forward pass, at the sizes the networks use.
            let batch = options.batch ?? 1
            func time(_ name: String, _ body: () throws -> Void) throws {
                let t = try measure(reps: options.reps, body)
                print(pad(name, 44) + pad(fmt(t.median * 1e3, 3), 10) + "ms  (min \(fmt(t.min * 1e3, 3)))")
            }
            print("== other kernels, batch \(batch), \(Parallel.threads) threads")
            let stem = try randomTensor([batch, 64, 112, 112], seed: 1)
            try time("maxpool 3x3 s2 p1, 64×112² (ResNet)") { _ = try maxPool2d(stem, Pool2dParams(kernel: 3, stride: 2, padding: 1)) }
            try time("  … with indices (training)") { _ = try maxPool2dWithIndices(stem, Pool2dParams(kernel: 3, stride: 2, padding: 1)) }
            let vgg = try randomTensor([batch, 64, 224, 224], seed: 2)
            try time("maxpool 2x2 s2, 64×224² (VGG)") { _ = try maxPool2d(vgg, Pool2dParams(kernel: 2)) }
            let head = try randomTensor([batch, 2048, 7, 7], seed: 3)
            try time("global avg pool 2048×7²") { _ = try globalAvgPool(head) }
            let vggHead = try randomTensor([batch, 512, 7, 7], seed: 4)
            try time("adaptive avg pool 512×7² → 7×7") { _ = try adaptiveAvgPool2d(vggHead, outputSize: (7, 7)) }
            let se = try randomTensor([batch, 96, 56, 56], seed: 5), s = try randomTensor([batch, 96], seed: 6)
            try time("channel scale (SE) 96×56²") { _ = try channelScale(se, s) }
            let a = try randomTensor([batch, 256, 56, 56], seed: 7), b = try randomTensor([batch, 256, 56, 56], seed: 8)
            try time("add + relu 256×56²") { _ = try add(a, b, activation: .relu) }
            let fcIn = try randomTensor([batch, 25088], seed: 9), fcW = try randomTensor([4096, 25088], seed: 10)
            try time("linear 25088→4096 (VGG fc1)") { _ = try linear(fcIn, weight: fcW, threadPolicy: options.conv.gemmThreads) }
            let fc2In = try randomTensor([batch, 2048], seed: 11), fc2W = try randomTensor([1000, 2048], seed: 12)
            try time("linear 2048→1000 (ResNet fc)") { _ = try linear(fc2In, weight: fc2W, threadPolicy: options.conv.gemmThreads) }
            let logits = try randomTensor([batch, 1000], seed: 13)
            try time("softmax 1000") { _ = try softmax(logits) }
        case "activations":
            // From one buffer into another, so every pass sees the same inputs (SiLU applied in place 16 times
            // drives them into denormals, which read twice as slow as real activations).
            let small = try randomTensor([1 << 16], seed: 9).values
            var out = [Float](repeating: 0, count: 1 << 16)
            for kind in [Activation.relu, .silu, .sigmoid, .gelu] {
                let saved = Parallel.threads
                Parallel.threads = 1
                let t = small.withUnsafeBufferPointer { src in
                    out.withUnsafeMutableBufferPointer { dst in
                        measure(reps: options.reps) { for _ in 0..<16 { activate(kind, src.baseAddress!, dst.baseAddress!, count: 1 << 16) } }
                    }
                }
                Parallel.threads = saved
                print("\(kind) on 2^16 floats (cache-resident, 1 thread): \(fmt(t.median * 1e9 / Double(16 << 16), 3)) ns/element")
            }
            let x = try randomTensor([options.batch ?? (1 << 20)], seed: 9)
            for kind in [Activation.relu, .relu6, .silu, .sigmoid, .hardswish, .hardsigmoid, .gelu] {
                let t = measure(reps: options.reps) { _ = activation(x, kind) }
                print("\(kind) on \(x.count) floats: \(fmt(t.median * 1e3, 3)) ms (\(fmt(t.median * 1e9 / Double(x.count), 2)) ns/element, \(Parallel.threads) threads)")
            }
        case "conv":
            // conv IN OUT K STRIDE SIZE [GROUPS]: one shape, for quick before/after comparisons.
            let v = options.extra.compactMap { Int($0) }
            guard v.count >= 5 else { print("usage: conv IN OUT K STRIDE SIZE [GROUPS]"); exit(2) }
            let shape = ConvShape(name: "conv \(v[0])→\(v[1]) k\(v[2]) s\(v[3]) @\(v[4])", inC: v[0], outC: v[1], k: v[2],
                                  stride: v[3], size: v[4], groups: v.count > 5 ? v[5] : 1, activation: options.activation)
            try benchConvs("single shape", [shape], batch: options.batch ?? 1, options)
        default: print("unknown suite \(suite)")
        }
    }
} catch {
    print("error: \(error)")
    exit(1)
}
