import GraftCore

/// timm's VGG keys onto torchvision's: timm keeps `features.*` but turns the classifier into
/// convolutions (`pre_logits.fc1` is a 7×7 conv, `pre_logits.fc2` a 1×1) and names the last layer
/// `head.fc`. A conv weight `[O, C, 7, 7]` in C order is exactly torchvision's `[O, C·49]` Linear over
/// the NCHW-flattened 7×7 map, so the bytes stay as they are and only the shape changes.
enum VGGKeyRules {
    static let renames: [(from: String, to: String, flatten: Bool)] = [
        ("pre_logits.fc1.weight", "classifier.0.weight", true), ("pre_logits.fc1.bias", "classifier.0.bias", false),
        ("pre_logits.fc2.weight", "classifier.3.weight", true), ("pre_logits.fc2.bias", "classifier.3.bias", false),
        ("head.fc.weight", "classifier.6.weight", false), ("head.fc.bias", "classifier.6.bias", false),
    ]

    static func map(_ tensors: [(name: String, tensor: LazyTensor)]) -> (tensors: [(name: String, tensor: LazyTensor)], notes: [String]) {
        var notes: [String] = []
        let mapped = tensors.map { entry -> (name: String, tensor: LazyTensor) in
            guard let rule = renames.first(where: { $0.from == entry.name }) else { return entry }
            guard rule.flatten, entry.tensor.shape.count == 4 else { return (rule.to, entry.tensor) }
            let s = entry.tensor.shape
            let flat = [s[0], s[1] * s[2] * s[3]]
            notes.append("\(entry.name) \(s) used as \(rule.to) \(flat)")
            let original = entry.tensor
            return (rule.to, LazyTensor(dtype: original.dtype, shape: flat) { try original.load().data })
        }
        return (mapped, notes)
    }
}
