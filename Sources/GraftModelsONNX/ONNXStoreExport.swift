import Foundation
import GraftModels
import GraftStore

/// `graft export --format onnx`: a checkpoint's model as an ONNX file, its input documented with the
/// preprocessing the store records (else the architecture's default weights' preset).
public enum ONNXStoreExport {
    public struct Result {
        public let export: ONNXExport
        public let arch: String
        public let height: Int
        public let width: Int
        public let preprocessing: String
        /// float32 elements of the state dict the model was loaded with (what the file should weigh).
        public let weightElements: Int
    }

    /// Builds the model (`arch`, else the store's recorded architecture, else detection from its keys
    /// and shapes: the loader's typed errors name what does not fit), exports it and writes `path`
    /// atomically. `size` overrides the preprocessing's crop size.
    public static func write(store: WeightStore, arch: String?, to path: String, keepBatchNorm: Bool, size: Int?) throws -> Result {
        let model: Model
        if let name = arch ?? store.metadata.arch {
            model = try ModelLoader.load(arch: name, store: store).model
        } else {
            model = try ModelLoader.load(store: store).model
        }
        let choice = try PreprocessingChoice.resolve(weights: nil, arch: model.arch, store: store)
        let side = size ?? choice.pipeline.size
        let preprocessing = "\(choice.pipeline.summary) (\(choice.source))"
        let options = ONNXExportOptions(height: side, width: side, preprocessing: preprocessing, keepBatchNorm: keepBatchNorm)
        let export = try ONNXExporter.write(model, to: path, options: options)
        let weights = model.network.namedParameters().reduce(0) { $0 + $1.parameter.value.count }
        return Result(export: export, arch: model.arch, height: side, width: side, preprocessing: preprocessing, weightElements: weights)
    }
}
