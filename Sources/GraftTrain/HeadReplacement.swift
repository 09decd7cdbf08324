import GraftModels
import GraftNN
import GraftTensor

/// Puts a new classifier on a pretrained model, sized to the dataset's classes.
public enum HeadReplacement {
    /// Replaces the classifier with a freshly initialized Linear (torch's default init: weight and bias
    /// U(±1/√in), from `seed`), under the same module path so the fine-tuned state dict loads into
    /// torchvision's model with the same replaced head. With `keepMatchingClasses`, rows of classes
    /// whose names match one of `pretrainedClasses` (case, spaces and underscores ignored) start from
    /// the pretrained rows. Returns notes on what was kept.
    @discardableResult
    public static func replace(_ model: Model, classes: [String], seed: UInt64, keepMatchingClasses: Bool = false,
                               pretrainedClasses: [String]? = nil) throws -> [String] {
        let old = model.classifierParameters
        let inFeatures = model.featureCount, n = classes.count
        var rng = SeededGenerator(seed: seed)
        let bound = 1 / Float(inFeatures).squareRoot()
        var w = (0..<(n * inFeatures)).map { _ in (rng.nextUnitFloat() * 2 - 1) * bound }
        var b = (0..<n).map { _ in (rng.nextUnitFloat() * 2 - 1) * bound }
        var notes: [String] = []
        if keepMatchingClasses, let pretrained = pretrainedClasses, pretrained.count == model.numClasses {
            let index = Dictionary(pretrained.enumerated().map { (normalize($0.element), $0.offset) }, uniquingKeysWith: { a, _ in a })
            let oldW = old.weight.value.values, oldB = old.bias?.value.values
            for (i, name) in classes.enumerated() {
                guard let j = index[normalize(name)] else { continue }
                for k in 0..<inFeatures { w[i * inFeatures + k] = oldW[j * inFeatures + k] }
                if let oldB { b[i] = oldB[j] }
                notes.append("class '\(name)' starts from pretrained class \(j) ('\(pretrained[j])')")
            }
        }
        try model.replaceClassifier(try Linear(weight: try Tensor(shape: [n, inFeatures], values: w),
                                               bias: try Tensor(shape: [n], values: b)))
        return notes
    }

    static func normalize(_ s: String) -> String {
        s.lowercased().filter { $0.isLetter || $0.isNumber }
    }
}
