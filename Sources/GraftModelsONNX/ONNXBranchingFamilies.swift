import GraftModels
import GraftNN
import GraftONNX

// The families whose blocks concatenate branches: DenseNet, GoogLeNet and Inception v3. Auxiliary
// classifiers never run at evaluation, so they are not exported.

extension DenseNet: ONNXEmittable {
    /// The features end in `norm5`; torchvision applies the final ReLU in forward, then the pool.
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let h = e.activation(.relu, try e.emit(features, x))
        return try e.linear(classifier, e.flatten(e.globalAveragePool(h)))
    }
}

extension DenseBlock: ONNXEmittable {
    /// Each layer reads everything before it and adds `growthRate` channels.
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        var h = x
        for layer in layers { h = try e.concat([h, try e.emit(layer, h)]) }
        return h
    }
}

extension DenseLayer: ONNXEmittable {
    /// norm1 → ReLU → conv1 (norm2 folded) → ReLU → conv2; its dropout is off at evaluation.
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        let a = e.activation(.relu, e.batchNorm(norm1, x))
        return try e.conv(conv2, norm: nil, e.activation(.relu, try e.conv(conv1, norm: norm2, a)))
    }
}

extension DenseTransition: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        try e.emit(pool, try e.conv(conv, norm: nil, e.activation(.relu, e.batchNorm(norm, x))))
    }
}

extension BasicConv2d: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        e.activation(.relu, try e.conv(conv, norm: bn, x))
    }
}

extension GoogLeNet: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        try e.emitInceptionNetwork(self, transformInput: config.transformInput, fc: fc, x)
    }
}

extension GoogLeNetInception: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        try e.concat([try e.emit(branch1, x), try e.emit(branch2, x), try e.emit(branch3, x), try e.emit(branch4, x)])
    }
}

extension InceptionV3: ONNXEmittable {
    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        try e.emitInceptionNetwork(self, transformInput: config.transformInput, fc: fc, x)
    }
}

extension InceptionV3Block: ONNXEmittable {
    /// The branches of each torchvision block kind, by child name: an optional pool, a chain of
    /// units, and the units a branch forks into at its end (InceptionE's 1×3 / 3×1 pairs).
    private static let layouts: [String: [(pool: Pool, chain: [String], fork: [String])]] = [
        "InceptionA": [(.none, ["branch1x1"], []), (.none, ["branch5x5_1", "branch5x5_2"], []),
                       (.none, ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"], []), (.average, ["branch_pool"], [])],
        "InceptionB": [(.none, ["branch3x3"], []), (.none, ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"], []),
                       (.max, [], [])],
        "InceptionC": [(.none, ["branch1x1"], []), (.none, ["branch7x7_1", "branch7x7_2", "branch7x7_3"], []),
                       (.none, (1...5).map { "branch7x7dbl_\($0)" }, []), (.average, ["branch_pool"], [])],
        "InceptionD": [(.none, ["branch3x3_1", "branch3x3_2"], []), (.none, (1...4).map { "branch7x7x3_\($0)" }, []),
                       (.max, [], [])],
        "InceptionE": [(.none, ["branch1x1"], []), (.none, ["branch3x3_1"], ["branch3x3_2a", "branch3x3_2b"]),
                       (.none, ["branch3x3dbl_1", "branch3x3dbl_2"], ["branch3x3dbl_3a", "branch3x3dbl_3b"]),
                       (.average, ["branch_pool"], [])],
    ]

    public func emitONNX(_ x: ONNXValue, _ e: ONNXEmitter) throws -> ONNXValue {
        guard let layout = Self.layouts[kind] else { throw ONNXExportError.unsupportedModule(kind) }
        func unit(_ name: String) throws -> BasicConv2d {
            guard let u = self[name] else { throw ONNXExportError.unsupportedModule("\(kind) without \(name)") }
            return u
        }
        var outs: [ONNXValue] = []
        for branch in layout {
            var h = x
            switch branch.pool {
            case .none: break
            case .average: h = try e.emit(AvgPool2d(kernelSize: 3, stride: 1, padding: 1), x)
            case .max: h = try e.emit(MaxPool2d(kernelSize: 3, stride: 2), x)
            }
            for name in branch.chain { h = try e.emit(try unit(name), h) }
            if branch.fork.isEmpty { outs.append(h) } else { for name in branch.fork { outs.append(try e.emit(try unit(name), h)) } }
        }
        return try e.concat(outs)
    }
}

extension ONNXEmitter {
    /// GoogLeNet and Inception v3: `transform_input` (torchvision re-normalizes ImageNet-normalized
    /// input to the (x − 0.5) / 0.5 the original weights expect), the trunk — the children in order,
    /// without the auxiliary classifiers and the head — then pool, flatten and `fc`.
    func emitInceptionNetwork(_ net: FeatureHeadNetwork, transformInput: Bool, fc: Linear, _ x: ONNXValue) throws -> ONNXValue {
        var h = x
        if transformInput {
            let mean: [Double] = [0.485, 0.456, 0.406], std: [Double] = [0.229, 0.224, 0.225]
            let scale = constant("transform_input.scale", std.map { Float($0 / 0.5) }, shape: [3, 1, 1])
            let shift = constant("transform_input.shift", mean.map { Float(($0 - 0.5) / 0.5) }, shape: [3, 1, 1])
            h = node("Add", [node("Mul", [h.name, scale], shape: h.shape).name, shift], shape: h.shape)
        }
        let skipped = Set(net.auxiliaryPaths + net.headModulePaths + ["avgpool"])
        for (name, module) in net.namedChildren where !skipped.contains(name) { h = try emit(module, h) }
        return try linear(fc, flatten(globalAveragePool(h)))
    }
}
