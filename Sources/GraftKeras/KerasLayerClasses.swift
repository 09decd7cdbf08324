/// What Graft knows about Keras layer classes: the snake_case keys Keras 3 files use for them,
/// the order and canonical names of their variables, and how to tell them apart in files that do
/// not record the class.
enum KerasLayerClasses {
    /// Classes whose variables Graft names. Others are read with positional names (`0`, `1`, …)
    /// and never converted.
    static let variableNames: [String: [Int: [String]]] = [
        "Conv1D": [1: ["kernel"], 2: ["kernel", "bias"]],
        "Conv2D": [1: ["kernel"], 2: ["kernel", "bias"]],
        "Conv3D": [1: ["kernel"], 2: ["kernel", "bias"]],
        "Dense": [1: ["kernel"], 2: ["kernel", "bias"]],
        // Keras 3 calls the depthwise variable `kernel`; tf.keras 2 called it `depthwise_kernel`.
        "DepthwiseConv1D": [1: ["depthwise_kernel"], 2: ["depthwise_kernel", "bias"]],
        "DepthwiseConv2D": [1: ["depthwise_kernel"], 2: ["depthwise_kernel", "bias"]],
        "SeparableConv1D": [
            2: ["depthwise_kernel", "pointwise_kernel"], 3: ["depthwise_kernel", "pointwise_kernel", "bias"],
        ],
        "SeparableConv2D": [
            2: ["depthwise_kernel", "pointwise_kernel"], 3: ["depthwise_kernel", "pointwise_kernel", "bias"],
        ],
        // Trainable variables first, then the non-trainable ones (Keras `_legacy_weights` and
        // `save_own_variables` agree). With only one of scale/center the 3 variables are ambiguous.
        "BatchNormalization": [
            2: ["moving_mean", "moving_variance"], 4: ["gamma", "beta", "moving_mean", "moving_variance"],
        ],
        "Normalization": [3: ["mean", "variance", "count"]],
        "LayerNormalization": [1: ["gamma"], 2: ["gamma", "beta"]],
    ]

    /// Every class the snake_case table knows: the ones above, and others whose groups should
    /// still get a class name (weightless layers, and classes whose variables stay positional).
    static let knownClasses: [String] = Array(variableNames.keys) + otherClasses

    private static let otherClasses = [
        "InputLayer", "Rescaling", "ZeroPadding2D", "Activation", "ReLU", "MaxPooling2D", "AveragePooling2D",
        "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten", "Dropout", "Add", "Multiply", "Reshape",
        "Concatenate", "Conv2DTranspose", "Embedding", "GroupNormalization", "Functional", "Sequential",
    ]

    /// Keras 3 group key (`batch_normalization`) → class name (`BatchNormalization`).
    static let classBySnakeKey: [String: String] = {
        var table: [String: String] = [:]
        for name in knownClasses { table[snakeCase(name)] = name }
        return table
    }()

    /// Keras' `naming.to_snake_case`: `(.)([A-Z][a-z]+)` → `\1_\2`, then `([a-z])([A-Z])` → `\1_\2`,
    /// lower-cased. `DepthwiseConv2D` → `depthwise_conv2d`, `ReLU` → `re_lu`.
    static func snakeCase(_ name: String) -> String {
        let chars = Array(name)
        var step1: [Character] = []
        var i = 0
        while i < chars.count {
            // A capital followed by one or more lower-case letters, preceded by any character.
            if i > 0, chars[i].isASCIIUppercase, i + 1 < chars.count, chars[i + 1].isASCIILowercase {
                step1.append("_")
            }
            step1.append(chars[i])
            i += 1
        }
        var step2: [Character] = []
        for (j, c) in step1.enumerated() {
            if j > 0, c.isASCIIUppercase, step1[j - 1].isASCIILowercase { step2.append("_") }
            step2.append(c)
        }
        return String(step2).lowercased()
    }

    /// Splits a Keras 3 group key into its class and per-class index: `conv2d_3` → (Conv2D, 3),
    /// `dense` → (Dense, 0). Unknown keys give nil.
    static func parseKey(_ key: String) -> (className: String, index: Int)? {
        if let name = classBySnakeKey[key] { return (name, 0) }
        guard let underscore = key.lastIndex(of: "_") else { return nil }
        let digits = key[key.index(after: underscore)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), digits.first != "0" || digits.count == 1,
            let index = Int(digits), let name = classBySnakeKey[String(key[..<underscore])]
        else { return nil }
        return (name, index)
    }

    /// The class a legacy layer most likely has, from its canonical weight names and shapes, and
    /// whether the guess is certain. Keras 3 legacy files name a depthwise kernel `kernel`, so a
    /// 4-D `kernel` alone could be a Conv2D or a DepthwiseConv2D: that guess is not certain.
    static func infer(names: [String], ranks: [Int]) -> (className: String, certain: Bool)? {
        let set = Set(names)
        func rank(of name: String) -> Int? { names.firstIndex(of: name).map { ranks[$0] } }
        if set.contains("depthwise_kernel"), set.contains("pointwise_kernel") {
            return (rank(of: "depthwise_kernel") == 3 ? "SeparableConv1D" : "SeparableConv2D", true)
        }
        if set.contains("depthwise_kernel") {
            return (rank(of: "depthwise_kernel") == 3 ? "DepthwiseConv1D" : "DepthwiseConv2D", true)
        }
        if set.contains("moving_mean"), set.contains("moving_variance") {
            return ("BatchNormalization", true)
        }
        if set.contains("mean"), set.contains("variance") { return ("Normalization", true) }
        switch rank(of: "kernel") {
        case 2: return ("Dense", true)
        case 3: return ("Conv1D", false)
        case 4: return ("Conv2D", false)
        case 5: return ("Conv3D", true)
        default: return nil
        }
    }
}

extension Character {
    var isASCIIUppercase: Bool { isASCII && isUppercase }
    var isASCIILowercase: Bool { isASCII && isLowercase }
    var isASCIIDigit: Bool { isASCII && isNumber }
}
