import GraftImage

/// `keras.applications` models Graft builds: their default input size and `preprocess_input` mode
/// (nil: EfficientNet normalizes inside the graph and takes 0–255 pixels).
public enum KerasApplications {
    public static let table: [String: (size: Int, mode: KerasPreprocessMode?)] = {
        var t: [String: (size: Int, mode: KerasPreprocessMode?)] = [
            "ResNet50": (224, .caffe), "ResNet101": (224, .caffe), "ResNet152": (224, .caffe),
            "VGG16": (224, .caffe), "VGG19": (224, .caffe),
        ]
        for (i, size) in [224, 240, 260, 300, 380, 456, 528, 600].enumerated() { t["EfficientNetB\(i)"] = (size, nil) }
        return t
    }()

    /// The eval preprocessing of a Keras architecture (`load_img(target_size) + preprocess_input`).
    public static func pipeline(for arch: String) -> ImagePipeline? {
        table[arch].map { .keras(size: $0.size, mode: $0.mode) }
    }
}
