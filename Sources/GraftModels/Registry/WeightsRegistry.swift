import Foundation
import GraftImage

/// One published weight: where it came from, the exact eval preprocessing it was trained for, and its
/// published metrics — torchvision's `Weights(url, transforms, meta)` as data.
public struct WeightsInfo: Sendable, Equatable {
    public enum Categories: String, Sendable { case imagenet1k, none }

    public let enumName: String
    public let member: String
    public let arch: String
    public let isDefault: Bool
    public let resizeSize: Int
    public let cropSize: Int
    public let interpolation: ResampleFilter
    public let mean: [Float]
    public let std: [Float]
    public let categories: Categories
    public let acc1: Double?
    public let acc5: Double?
    public let numParams: Int
    public let gflops: Double
    public let fileSizeMB: Double
    public let url: String

    /// `ResNet50_Weights.IMAGENET1K_V2`.
    public var fullName: String { "\(enumName).\(member)" }

    /// The torchvision `ImageClassification` preset of this weight.
    public var preset: ClassificationPreset {
        ClassificationPreset(resizeSize: resizeSize, cropSize: cropSize, interpolation: interpolation, mean: mean, std: std)
    }

    /// The class names of its outputs, if it has a classifier.
    public var classNames: [String]? { categories == .imagenet1k ? ImageNet.classes : nil }
}

public enum WeightsLookupError: Error, CustomStringConvertible, Equatable {
    case unknown(String, arch: String?)
    case archMismatch(weights: String, arch: String)

    public var description: String {
        switch self {
        case .unknown(let name, let arch):
            let known = WeightsRegistry.all.filter { arch == nil || $0.arch == arch }.map(\.fullName)
            let hint = known.isEmpty ? "give a full name such as ResNet50_Weights.IMAGENET1K_V2" : "known: \(known.joined(separator: ", "))"
            return "unknown weights '\(name)'\(arch.map { " for \($0)" } ?? ""); \(hint)"
        case .archMismatch(let w, let a): return "weights \(w) belong to another architecture than \(a)"
        }
    }
}

/// Every weight Graft knows, looked up the way torchvision's `WeightsEnum.verify` / `get_weight` accept
/// them: `ResNet50_Weights.IMAGENET1K_V2`, the short `IMAGENET1K_V2` or `DEFAULT` given an arch.
public enum WeightsRegistry {
    public static let all: [WeightsInfo] = torchvision + lite

    /// EfficientNet-Lite0…4 as published with TensorFlow's efficientnet/lite (and their ports): no
    /// ImageNet torchvision preset exists, so the TF Lite eval recipe is expressed as one — resize the
    /// shorter side to input + 32 (the crop padding), center-crop the input size, bilinear, and
    /// (x − 127) / 128 on 0–255, i.e. mean 127/255 and std 128/255 on the /255 scale.
    static let lite: [WeightsInfo] = [(0, 224), (1, 240), (2, 260), (3, 280), (4, 300)].map { (i, size) in
        WeightsInfo(
            enumName: "EfficientNet_Lite\(i)_Weights", member: "IMAGENET1K", arch: "efficientnet_lite\(i)",
            isDefault: true, resizeSize: size + 32, cropSize: size, interpolation: .bilinear,
            mean: [127.0 / 255, 127.0 / 255, 127.0 / 255], std: [128.0 / 255, 128.0 / 255, 128.0 / 255],
            categories: .imagenet1k, acc1: nil, acc5: nil, numParams: 0, gflops: 0, fileSizeMB: 0, url: "")
    }

    /// Resolves a weight name, optionally relative to an architecture.
    public static func lookup(_ name: String, arch: String? = nil) throws -> WeightsInfo {
        let candidates = all.filter { arch == nil || $0.arch == arch }
        if let dot = name.lastIndex(of: ".") {
            let enumName = String(name[..<dot]), member = String(name[name.index(after: dot)...])
            let matches = all.filter { $0.enumName.lowercased() == enumName.lowercased() }
            guard let first = matches.first else { throw WeightsLookupError.unknown(name, arch: arch) }
            if let arch, first.arch != arch { throw WeightsLookupError.archMismatch(weights: name, arch: arch) }
            let hit = member == "DEFAULT" ? matches.first(where: \.isDefault) : matches.first { $0.member == member }
            guard let found = hit else { throw WeightsLookupError.unknown(name, arch: arch) }
            return found
        }
        guard let arch else { throw WeightsLookupError.unknown(name, arch: nil) }
        let hit = name == "DEFAULT" ? candidates.first(where: \.isDefault) : candidates.first { $0.member == name }
        guard let found = hit else { throw WeightsLookupError.unknown(name, arch: arch) }
        return found
    }

    /// The DEFAULT weight of an architecture (torchvision's `weights="DEFAULT"`).
    public static func defaultWeights(for arch: String) -> WeightsInfo? {
        all.first { $0.arch == arch && $0.isDefault }
    }
}

/// torchvision's `_IMAGENET_CATEGORIES`, bundled as a resource.
public enum ImageNet {
    public static let classes: [String] = {
        guard let url = Bundle.module.url(forResource: "imagenet_classes", withExtension: "txt"),
              let text = try? String(contentsOf: url, encoding: .utf8)
        else { return [] }
        return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }()
}

extension WeightsInfo {
    /// The published file name (`resnet50-11ad3fa6.pth`).
    public var fileName: String { url.split(separator: "/").last.map(String.init) ?? "" }

    /// The sha256 prefix torchvision puts in the file name (`11ad3fa6`), which `torch.hub` checks on
    /// download and Graft checks on convert; nil for weights published without one.
    public var sha256Prefix: String? {
        guard let dash = fileName.lastIndex(of: "-"), let dot = fileName.lastIndex(of: "."), dash < dot else { return nil }
        let hash = fileName[fileName.index(after: dash)..<dot]
        return hash.count >= 8 && hash.allSatisfy(\.isHexDigit) ? String(hash) : nil
    }
}
