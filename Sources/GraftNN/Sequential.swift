import GraftTensor

/// `nn.Sequential`: children "0", "1", … — or named ones, as `nn.Sequential(OrderedDict(...))` —
/// applied one after another; backward runs them in reverse and stops as soon as nothing earlier
/// needs a gradient. A CNN that is a plain chain (LeNet, VGG's features) needs no code of its own:
/// its state-dict keys are the children's names plus their parameters'.
///
/// At inference it fuses what PyTorch runs as separate modules: `Conv2d → BatchNorm2d → activation`
/// becomes one convolution with the BatchNorm folded and the activation in its epilogue, and
/// `Linear → activation` (any `ActivationFusing` layer) one kernel (a module with an output observer
/// is never fused away).
public final class Sequential: Module {
    public private(set) var layers: [Module]
    /// The children's names; nil for PyTorch's numbering.
    public private(set) var names: [String]?

    public init(_ layers: [Module]) { self.layers = layers }
    public convenience init(_ layers: Module...) { self.init(layers) }

    /// Named children, in order (`nn.Sequential(OrderedDict([("conv1", …), …]))`).
    public init(named children: KeyValuePairs<String, Module>) {
        layers = children.map(\.value)
        names = children.map(\.key)
        precondition(Set(names!).count == layers.count && !names!.contains { $0.isEmpty || $0.contains(".") },
                     "Sequential: child names must be unique, non-empty and without dots")
    }

    public override var namedChildren: [(name: String, module: Module)] {
        layers.enumerated().map { (names?[$0.offset] ?? String($0.offset), $0.element) }
    }

    public override func setChild(_ name: String, _ module: Module) throws {
        guard let i = names?.firstIndex(of: name) ?? Int(name).flatMap({ names == nil ? $0 : nil }), layers.indices.contains(i)
        else { throw NNError.cannotReplace(parent: typeName, child: name) }
        layers[i] = module
    }

    /// Adds a child at the end (under the next number, or `name` in a named Sequential).
    public func append(_ module: Module, name: String? = nil) {
        if names != nil { names!.append(name ?? String(layers.count)) }
        layers.append(module)
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try Self.run(layers, x) }

    /// `layers` one after another with Sequential's fusions (conv → BatchNorm → activation, Linear →
    /// activation): for networks whose modules run in sequence without being a Sequential of their own
    /// (a classifier's hidden layers before the last Linear).
    public static func run(_ layers: [Module], _ x: Tensor) throws -> Tensor {
        var h = x
        var i = 0
        while i < layers.count {
            if let (out, used) = try fusedStep(layers, at: i, h) {
                h = out
                i += used
            } else {
                h = try layers[i](h)
                i += 1
            }
        }
        return h
    }

    /// The fused inference kernel for the run starting at `i`, and how many children it covered.
    private static func fusedStep(_ layers: [Module], at i: Int, _ x: Tensor) throws -> (Tensor, Int)? {
        let first = layers[i]
        guard first.fusable else { return nil }
        func next(_ k: Int) -> Module? { i + k < layers.count && layers[i + k].fusable ? layers[i + k] : nil }
        if let conv = first as? Conv2d {
            var used = 1
            var norm: BatchNorm2d?
            if let bn = next(1) as? BatchNorm2d, !bn.normalizesWithBatch { norm = bn; used += 1 }
            var act = Activation.none
            if let a = next(used) as? ActivationModule { act = a.kind; used += 1 }
            guard used > 1 else { return nil }
            return (try conv.fused(x, norm: norm, activation: act), used)
        }
        if let layer = first as? ActivationFusing, let a = next(1) as? ActivationModule {
            return (try layer.fused(x, activation: a.kind), 2)
        }
        return nil
    }

    public override func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        var g = gradOutput
        for layer in layers.reversed() {
            // A child that recorded nothing has no trainable parameter at or before it: stop here.
            if !layer.recordsForBackward { return nil }
            guard let next = try layer.backward(g) else { return nil }
            g = next
        }
        return needsInputGradient ? g : nil
    }
}

/// A layer whose inference kernel can apply a following activation in the same pass (`Linear`, and
/// the zoo's per-pixel Linear of ConvNeXt): `Sequential` fuses `layer → activation` into `fused`.
public protocol ActivationFusing: Module {
    /// Inference: `activation(layer(x))` in one kernel.
    func fused(_ x: Tensor, activation: Activation) throws -> Tensor
}
