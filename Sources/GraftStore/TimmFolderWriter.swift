import Foundation
import GraftCore
import GraftSafetensors

/// Writes a timm hub folder: `model.safetensors` (the tensors as given, timm's names, `format: pt`
/// metadata as `save_for_hf` writes it) and `config.json`. Both go through temporary files; the
/// config is renamed into place only after the weights are, so a failure leaves no half-written file
/// and never a new config beside old weights.
public enum TimmFolderWriter {
    public static func write(directory: String, tensors: [(name: String, tensor: LazyTensor)], config: Data) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw TimmFolderError.notATimmFolder(directory) }
        } else {
            do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw FileError.cannotOpen(path: directory, reason: "cannot create the folder")
            }
        }
        let configWriter = try AtomicFileWriter(destination: directory + "/config.json")
        try configWriter.write([UInt8](config))
        try SafetensorsWriter.write(
            to: directory + "/model.safetensors",
            entries: tensors.map { (name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape) },
            metadata: [("format", "pt")],
            data: { try tensors[$0].tensor.load().data })
        try configWriter.commit()
    }
}
