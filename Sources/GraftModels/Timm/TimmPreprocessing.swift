import Foundation
import GraftCore
import GraftImage
import GraftStore

/// timm's eval transform (`resolve_data_config` + `transforms_imagenet_eval`) as a Graft pipeline, and
/// back: resize to floor(size / crop_pct) with the config's interpolation, crop mode center / squash /
/// border, mean, std. Absent fields take `resolve_data_config`'s defaults (224, bicubic, 0.875,
/// center, ImageNet statistics).
public enum TimmPreprocessing {
    public static let defaultCropPct = 0.875

    public static func pipeline(_ cfg: TimmConfig.Pretrained?) throws -> ImagePipeline {
        let input = cfg?.inputSize ?? [3, 224, 224]
        guard input[0] == 3 else { throw TimmError.badPreprocessing("input_size \(input): Graft reads three-channel images") }
        guard input[1] == input[2] else { throw TimmError.badPreprocessing("input_size \(input): Graft crops square inputs") }
        let name = cfg?.interpolation ?? "bicubic"
        guard let filter = ResampleFilter(rawValue: name) else {
            throw TimmError.badPreprocessing("interpolation \(SafeText.quoted(name)) is none of "
                                             + ResampleFilter.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let modeName = cfg?.cropMode ?? "center"
        guard let mode = CropMode(rawValue: modeName) else {
            throw TimmError.badPreprocessing("crop_mode \(SafeText.quoted(modeName)) is none of center, squash, border")
        }
        let pct = cfg?.cropPct ?? defaultCropPct
        // math.floor(img_size / crop_pct), in doubles as Python computes it.
        let scaled = (Double(input[1]) / pct).rounded(.down)
        guard scaled >= 1, scaled <= 8192 else {
            throw TimmError.badPreprocessing("crop_pct \(pct) makes a resize to \(scaled), outside 1…8192")
        }
        var preset = ClassificationPreset(resizeSize: Int(scaled), cropSize: input[1], interpolation: filter,
                                          mean: (cfg?.mean ?? [0.485, 0.456, 0.406]).map(Float.init),
                                          std: (cfg?.std ?? [0.229, 0.224, 0.225]).map(Float.init))
        preset.cropMode = mode
        let pipeline = ImagePipeline.torchvision(preset)
        if let problem = StoreMetadata.implausibility(of: pipeline) { throw TimmError.badPreprocessing(problem) }
        return pipeline
    }

    /// The `pretrained_cfg` fields for a store's pipeline: crop_pct = crop / resize, which timm's
    /// floor(crop / crop_pct) turns back into the resize (checked; a pipeline it cannot express is an error).
    public static func pretrainedFields(_ pipeline: ImagePipeline) throws -> [String: Any] {
        guard case .torchvision(let p) = pipeline else {
            throw TimmError.badPreprocessing("Keras preprocessing has no timm eval transform")
        }
        var pct = Double(p.cropSize) / Double(p.resizeSize)
        if (Double(p.cropSize) / pct).rounded(.down) != Double(p.resizeSize) {
            // One ulp below lands the floor on the resize when the exact ratio lands just under it.
            pct = pct.nextDown
            guard (Double(p.cropSize) / pct).rounded(.down) == Double(p.resizeSize) else {
                throw TimmError.badPreprocessing("resize \(p.resizeSize) / crop \(p.cropSize) is no crop_pct timm can express")
            }
        }
        return ["input_size": [3, p.cropSize, p.cropSize], "interpolation": p.interpolation.rawValue, "crop_pct": pct,
                "crop_mode": p.cropMode.rawValue, "mean": p.mean.map { Double("\($0)")! }, "std": p.std.map { Double("\($0)")! }]
    }
}
