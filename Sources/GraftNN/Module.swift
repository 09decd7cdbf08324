import GraftTensor

/// A node of a network, in the spirit of PyTorch's `nn.Module`: named children, its own parameters
/// and buffers, a forward pass and — side by side with it — a backward pass.
///
/// A model is a tree of modules, and every path in it is the PyTorch path of the same structure: the
/// state-dict key of a parameter is its module's path plus its own name (`layer1.0.bn1.running_var`).
/// Nothing else records names, so a tree built in Swift and the PyTorch class it mirrors agree on keys.
///
/// Subclasses list their children in `namedChildren` and their tensors in `namedStates`, in
/// registration order (PyTorch's state-dict order: a module's parameters, then its buffers, then each
/// child). In training mode `forward` keeps what `backward` needs — but only when
/// `recordsForBackward` is set: modules of a frozen backbone whose outputs need no gradient run their
/// inference path and keep nothing. `backward` takes ∂L/∂output, adds the parameters' gradients into
/// `Parameter.grad` and returns ∂L/∂input (nil when nothing before the module needs it).
open class Module {
    /// Training mode (batch statistics, dropout) versus evaluation; set by `train()` / `eval()`.
    public var isTraining = false
    /// Keep activations for backward; decided by `prepareBackward`.
    public var recordsForBackward = false
    /// Return ∂L/∂input from backward (false for the first modules, whose input is the image).
    public var needsInputGradient = true
    /// Receives this module's output after each forward (feature extraction). Fused inference paths
    /// step aside for a module that has one, so the observed value is the module's own output.
    public var outputObserver: ((Tensor) -> Void)?
    /// Receives ∂L/∂output each time backward reaches this module (Grad-CAM's gradient at a layer,
    /// PyTorch's full backward hook).
    public var gradientObserver: ((Tensor) -> Void)?
    /// Sees every call of this module with its input and output (summaries: receptive fields).
    public var forwardTracer: ForwardTracer?

    public init() {}

    /// The children, in registration order, under the names PyTorch gives them.
    open var namedChildren: [(name: String, module: Module)] { [] }

    /// This module's own parameters, buffers and counters, in state-dict order.
    open var namedStates: [(name: String, state: StateEntry)] { [] }

    open func forward(_ x: Tensor) throws -> Tensor {
        throw NNError.notImplemented("\(typeName).forward")
    }

    /// ∂L/∂input from ∂L/∂output, accumulating the parameters' gradients: what a module writes
    /// beside its `forward`.
    open func inputGradient(_ gradOutput: Tensor) throws -> Tensor? {
        throw NNError.notImplemented("\(typeName).backward")
    }

    /// Backward through this module: hands ∂L/∂output to the observer, then `inputGradient`.
    public final func backward(_ gradOutput: Tensor) throws -> Tensor? {
        if let observer = gradientObserver { observer(gradOutput) }
        return try inputGradient(gradOutput)
    }

    /// Puts `module` in the place of the child called `name` (head replacement). Containers and
    /// models with replaceable parts override it.
    open func setChild(_ name: String, _ module: Module) throws {
        throw NNError.cannotReplace(parent: typeName, child: name)
    }

    /// The parameters' initialization when a model is trained from scratch (`initialize(seed:scheme:)`).
    open func resetParameters(_ scheme: InitScheme, _ rng: inout SeededGenerator) {}

    /// PyTorch's class name for this module, for summaries and error messages.
    open var typeName: String { String(describing: type(of: self)) }

    /// Decides what this subtree records for backward, given whether any parameter before it is
    /// trainable; returns whether any parameter up to and including it is. The default treats the
    /// children as running one after another (a leaf has none).
    open func prepareBackward(trainableBefore: Bool) -> Bool {
        needsInputGradient = trainableBefore
        let kids = namedChildren
        if kids.isEmpty {
            let trainable = trainableBefore || hasTrainableParameters
            recordsForBackward = trainable
            return trainable
        }
        var before = trainableBefore
        for (_, child) in kids { before = child.prepareBackward(trainableBefore: before) }
        recordsForBackward = before
        return before
    }

    /// Forward, then hands the output to the observer: how containers call their children.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard let tracer = forwardTracer else {
            let y = try forward(x)
            if let observer = outputObserver { observer(y) }
            return y
        }
        tracer.willRun(self, input: x)
        let y = try forward(x)
        tracer.didRun(self, input: x, output: y)
        if let observer = outputObserver { observer(y) }
        return y
    }

    /// Whether a fused inference kernel may stand in for this module's own forward.
    public var fusable: Bool { outputObserver == nil && forwardTracer == nil && !recordsForBackward }
}

/// Follows a forward module by module: each call's start (with its input) and end (with its output),
/// nested as the calls are.
public protocol ForwardTracer: AnyObject {
    func willRun(_ module: Module, input: Tensor)
    func didRun(_ module: Module, input: Tensor, output: Tensor)
}

/// One entry of a state dict: a float tensor (parameter or buffer) or BatchNorm's int64 counter.
public enum StateEntry {
    case parameter(Parameter)
    case counter(Counter)
}

public enum NNError: Error, CustomStringConvertible, Equatable {
    /// `backward` was called without a recorded training-mode forward.
    case noRecordedForward(String)
    case notImplemented(String)
    case cannotReplace(parent: String, child: String)
    case noSuchModule(path: String, valid: [String])
    case badArgument(String)

    public var description: String {
        switch self {
        case .noRecordedForward(let module):
            return "\(module).backward called without a recorded forward (set training mode and prepareBackward)"
        case .notImplemented(let what): return "\(what) is not implemented"
        case .cannotReplace(let parent, let child): return "\(parent) cannot replace its child '\(child)'"
        case .noSuchModule(let path, let valid):
            let shown = valid.prefix(24).joined(separator: ", ")
            return "no module '\(String(path.prefix(200)))' in the model; valid paths include: \(shown)"
                + (valid.count > 24 ? ", … (\(valid.count) in all)" : "")
        case .badArgument(let text): return text
        }
    }
}
