import GraftCore
import GraftStore
import GraftTensor

/// What the source framework's model applies after its logits. PyTorch classifiers stop at the
/// logits; `keras.applications` models end in their `classifier_activation` (softmax unless built
/// otherwise), so the reference a Keras user saves with `model.predict` is probabilities. `Model.outputs`
/// gives what the source model gives; `Model.logits` stays the pre-activation values.
public enum OutputActivation: Sendable, Equatable {
    case linear, softmax, sigmoid
    /// A recorded activation Graft does not apply (a custom Keras activation): `outputs` is an error
    /// naming the store, while `logits` still works.
    case unsupported(name: String, store: String)

    /// The activation a store records (`graft.output_activation`); none recorded means logits.
    public init(recordedIn metadata: StoreMetadata, store: String) {
        switch metadata.outputActivation {
        case nil, "linear"?: self = .linear
        case "softmax"?: self = .softmax
        case "sigmoid"?: self = .sigmoid
        case let name?: self = .unsupported(name: name, store: store)
        }
    }

    /// The name Keras gives it (`linear` for none).
    public var name: String {
        switch self {
        case .linear: return "linear"
        case .softmax: return "softmax"
        case .sigmoid: return "sigmoid"
        case .unsupported(let name, _): return name
        }
    }

    public func apply(_ logits: Tensor) throws -> Tensor {
        switch self {
        case .linear: return logits
        case .softmax: return try GraftTensor.softmax(logits)
        case .sigmoid: return GraftTensor.sigmoid(logits)
        case .unsupported(let name, let store): throw UnsupportedOutputActivation(store: store, name: name)
        }
    }
}

/// A store records a classifier activation Graft does not apply.
public struct UnsupportedOutputActivation: Error, CustomStringConvertible, Equatable {
    public let store: String
    public let name: String

    public var description: String {
        "\(store): its classifier activation \(SafeText.quoted(name, quote: "'", limit: 40)) is not one Graft applies "
            + "(linear, softmax, sigmoid); compare pre-activation logits with verify --logits"
    }
}
