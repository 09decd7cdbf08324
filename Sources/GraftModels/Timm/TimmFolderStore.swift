import Foundation
import GraftCore
import GraftStore

extension WeightStore {
    /// Opens any checkpoint Graft reads — a file, or a timm hub folder (the folder, a file inside it,
    /// a Hugging Face cache snapshot). A timm folder's store holds Graft's key names (timm's mapped by
    /// `TimmKeyRules`) and records the architecture, the eval preprocessing from `pretrained_cfg`, the
    /// class names from `label_names` and the timm model name, so every command runs it without flags.
    public static func openCheckpoint(_ path: String, options: StoreOpenOptions = StoreOpenOptions()) throws -> WeightStore {
        guard let folder = try TimmFolder.locate(path) else { return try open(path, options: options) }
        return try openTimm(folder, options: options)
    }

    /// The naming of the file this store was read from: `.timm` for the weights of a timm folder (its
    /// keys were renamed on opening), else what the keys show. A store converted from a timm folder
    /// holds Graft's names in a file of its own, and says so.
    public var namingScheme: NamingScheme {
        let name = (sourcePath as NSString).lastPathComponent
        if metadata.timmArchitecture != nil, TimmFolder.weightFiles.contains(name),
           (try? TimmFolder.locate(sourcePath)) != nil { return .timm }
        return NamingScheme.detect(entries.map(\.name))
    }

    static func openTimm(_ folder: TimmFolder, options: StoreOpenOptions) throws -> WeightStore {
        let config = folder.config
        guard let arch = TimmArchitectures.lookup(timm: config.architecture) else {
            throw TimmError.unknownArchitecture(config.architecture)
        }
        let pipeline = try TimmPreprocessing.pipeline(config.pretrained)
        let store = try open(folder.weightsPath, options: options)
        let renamed = try TimmKeyRules.toGraft(store.entries.map { (name: $0.name, tensor: $0.tensor) }, layout: arch.layout)
        let mapped = store.replacingEntries(renamed.map { WeightEntry(name: $0.name, tensor: $0.tensor) })
        var metadata = mapped.metadata
        // A folder of other sizes than the named model (a miniature, a custom width) is recorded as its
        // family, whose sizes the loader reads from the shapes.
        let shapes = Dictionary(renamed.map { ($0.name, $0.tensor.shape) }, uniquingKeysWith: { a, _ in a })
        // config.json's class count must be the classifier's: a folder whose config and weights disagree
        // would otherwise name classes the model does not have (or lack names for some).
        if let declared = config.numClasses, let key = Zoo.spec(named: arch.graft)?.classifierKey,
           let rows = shapes[key]?.first, declared != rows {
            throw TimmFolderError.badField(file: folder.configPath, field: "num_classes",
                                           reason: "\(declared), but the weights' classifier (\(key)) has \(rows) rows")
        }
        let fits = Zoo.spec(named: arch.graft).map { ArchitectureDetection.compare($0, shapes).count == 0 } ?? false
        metadata.arch = fits ? arch.graft : (Zoo.familyName(of: arch.graft) ?? arch.graft)
        metadata.timmArchitecture = arch.timm
        if let eps = config.bnEps.map(Float.init) ?? arch.bnEps { metadata.bnEps = eps }
        try metadata.record(pipeline)
        metadata.classes = config.labelNames
        metadata.sourceFormat = "timm folder (\((folder.weightsPath as NSString).lastPathComponent) + config.json)"
        let tag = config.pretrained?.tag.map { ".\($0)" } ?? ""
        metadata.notes.append("timm folder \(SafeText.quoted(folder.directory)): \(arch.timm)\(tag), keys renamed from timm's "
                              + "\(arch.layout.rawValue) layout")
        if !config.otherModelArgs.isEmpty {
            // Sizes (depths, widths) are read from the tensors' shapes; anything else a model_arg changes
            // (an activation, a padding) would show as a parity failure, so it is named here.
            metadata.notes.append("config.json model_args \(config.otherModelArgs.joined(separator: ", ")) not read: "
                                  + "the sizes come from the tensors' shapes")
        }
        mapped.metadata = metadata
        return mapped
    }
}
