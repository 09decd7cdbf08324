import GraftModelsONNX
import GraftModelsTestSupport

/// The export options each zoo miniature (GraftModelsTestSupport) is written with.
extension ZooMiniatures {
    static func options(_ entry: Entry, keepBatchNorm: Bool) -> ONNXExportOptions {
        ONNXExportOptions(height: entry.height, width: entry.width, preprocessing: "test input", keepBatchNorm: keepBatchNorm)
    }
}
