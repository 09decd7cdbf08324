/// The three `preprocess_input` modes of `keras.applications` (`imagenet_utils.py`).
public enum KerasPreprocessMode: String, Sendable, CaseIterable, Codable {
    /// RGB→BGR, then minus the ImageNet BGR means, no scaling (ResNet50 v1, VGG).
    case caffe
    /// `x / 127.5 - 1` (ResNetV2, MobileNet, Inception, Xception).
    case tf
    /// `x / 255`, then ImageNet mean/std (DenseNet).
    case torch
}

/// `keras.utils.load_img` + `img_to_array` + `preprocess_input`, for Keras-trained weights.
public enum KerasImageLoader {
    /// `load_img(path, target_size=(height, width), interpolation=...)`: decode, convert to RGB,
    /// and resize with PIL's filter when the size differs (no aspect-ratio preservation).
    public static func load(
        path: String, targetSize: (height: Int, width: Int)? = nil, interpolation: ResampleFilter = .nearest
    ) throws -> RGBImage {
        let image = try ImageDecoder.decode(path: path)
        guard let target = targetSize else { return image }
        return try Resampler.resize(image, width: target.width, height: target.height, filter: interpolation)
    }

    /// `preprocess_input(img_to_array(image), mode=mode)` in float32, as NumPy 2 computes it
    /// (Python float constants are rounded to float32 first), returned channels-first (CHW) in
    /// the channel order the mode produces (BGR for caffe).
    public static func preprocess(_ image: RGBImage, mode: KerasPreprocessMode) -> ImageTensor {
        let plane = image.width * image.height
        var values = [Float](repeating: 0, count: plane * 3)
        let caffeMean: [Float] = [103.939, 116.779, 123.68]
        let torchMean: [Float] = [0.485, 0.456, 0.406]
        let torchStd: [Float] = [0.229, 0.224, 0.225]
        values.withUnsafeMutableBufferPointer { out in
            image.pixels.withUnsafeBufferPointer { px in
                for c in 0..<3 {
                    let base = c * plane
                    switch mode {
                    case .caffe:
                        // Output channel c is input channel 2 - c (BGR).
                        let m = caffeMean[c]
                        for i in 0..<plane { out[base + i] = Float(px[3 * i + 2 - c]) - m }
                    case .tf:
                        for i in 0..<plane { out[base + i] = Float(px[3 * i + c]) / 127.5 - 1 }
                    case .torch:
                        let m = torchMean[c], s = torchStd[c]
                        for i in 0..<plane { out[base + i] = (Float(px[3 * i + c]) / 255 - m) / s }
                    }
                }
            }
        }
        return ImageTensor(unchecked: 3, height: image.height, width: image.width, values: values)
    }
}
