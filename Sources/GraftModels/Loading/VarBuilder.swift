import GraftNN
import GraftTensor

/// The one way a model gets its parameters: a path scope plus a shape-checked lookup, so names are
/// exactly torchvision's state-dict keys (`vb.scope("layer1").scope(0).scope("conv1")` asks for
/// `layer1.0.conv1.weight`) and a missing, unused or mis-shaped key is an error that names it.
public struct VarBuilder {
    public let source: ParameterSource
    public let path: [String]

    public init(_ source: ParameterSource, path: [String] = []) {
        self.source = source
        self.path = path
    }

    public func scope(_ name: String) -> VarBuilder { VarBuilder(source, path: path + [name]) }
    public func scope(_ index: Int) -> VarBuilder { scope(String(index)) }

    public func key(_ name: String) -> String { (path + [name]).joined(separator: ".") }

    public func parameter(_ shape: [Int], _ name: String, kind: Parameter.Kind, initializer: Initializer) -> Parameter {
        source.parameter(key(name), shape: shape, kind: kind, initializer: initializer)
    }

    public func counter(_ name: String) -> Counter { source.counter(key(name)) }
}
