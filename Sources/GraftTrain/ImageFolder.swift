import Foundation
import GraftCore
import GraftImage

/// An image classification dataset laid out as torchvision's ImageFolder: one folder per class.
///
/// `DIR/train/<class>/*` and `DIR/val/<class>/*`, or `DIR/<class>/*` split into train and validation by
/// `valSplit` (per class, seeded, so every class keeps its share). Classes are the sorted folder names;
/// files are JPEG or PNG (by extension), sorted; hidden files are skipped.
public struct ImageFolder: Sendable {
    public struct Sample: Sendable, Equatable {
        public let path: String
        public let label: Int
    }

    public let root: String
    public let classes: [String]
    public let train: [Sample]
    public let validation: [Sample]

    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case notAFolder(String)
        case noClasses(String)
        case classMismatch(train: [String], validation: [String])
        case noValidation(String)

        public var description: String {
            switch self {
            case .notAFolder(let p): return "\(p) is not a folder"
            case .noClasses(let p): return "\(p) has no class folders with images"
            case .classMismatch(let t, let v): return "train classes \(t) differ from validation classes \(v)"
            case .noValidation(let p): return "\(p) has no val/ folder; pass --val-split to split the training images"
            }
        }
    }

    static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    public static func load(_ root: String, valSplit: Double? = nil, seed: UInt64 = 0) throws -> ImageFolder {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else { throw Error.notAFolder(root) }
        let trainDir = (root as NSString).appendingPathComponent("train")
        let valDir = (root as NSString).appendingPathComponent("val")
        if fm.fileExists(atPath: trainDir), valSplit == nil {
            guard fm.fileExists(atPath: valDir) else { throw Error.noValidation(root) }
            let (tc, t) = try scan(trainDir)
            let (vc, v) = try scan(valDir)
            guard tc == vc else { throw Error.classMismatch(train: tc, validation: vc) }
            return ImageFolder(root: root, classes: tc, train: t, validation: v)
        }
        let source = fm.fileExists(atPath: trainDir) ? trainDir : root
        let (classes, all) = try scan(source)
        let fraction = valSplit ?? 0.2
        var rng = SplitMix64(seed: seed)
        var train: [Sample] = [], val: [Sample] = []
        for label in classes.indices {
            var items = all.filter { $0.label == label }
            items.shuffle(using: &rng)
            let nVal = items.count > 1 ? max(1, Int((Double(items.count) * fraction).rounded())) : 0
            val += items.prefix(nVal)
            train += items.dropFirst(nVal)
        }
        return ImageFolder(root: root, classes: classes, train: train.sorted { $0.path < $1.path },
                           validation: val.sorted { $0.path < $1.path })
    }

    private static func scan(_ dir: String) throws -> ([String], [Sample]) {
        let fm = FileManager.default
        let names = try fm.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
        var classes: [String] = []
        var samples: [Sample] = []
        for name in names {
            let path = (dir as NSString).appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else { continue }
            let files = try fm.contentsOfDirectory(atPath: path)
                .filter { !$0.hasPrefix(".") && extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
            guard !files.isEmpty else { continue }
            let label = classes.count
            classes.append(name)
            samples += files.map { Sample(path: (path as NSString).appendingPathComponent($0), label: label) }
        }
        guard !classes.isEmpty else { throw Error.noClasses(dir) }
        return (classes, samples)
    }
}
