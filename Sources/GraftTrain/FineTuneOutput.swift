import Foundation
import GraftCore
import GraftImage
import GraftModels
import GraftStore

/// What a fine-tuning run leaves behind: the fine-tuned store and, in its folder, `report.html` (curves,
/// confusion matrix, per-class metrics, the highest-loss validation images with Grad-CAM),
/// `training-curves.svg`, `confusion-matrix.svg` and `confusion-matrix.txt`.
///
/// The store stands on its own: its metadata records the architecture, the class names, the
/// preprocessing the model was tuned with, the pretrained weights it started from and how it was
/// tuned, so predicting with it needs no other input.
public struct FineTuneOutput {
    /// Where `save(to:)` puts each file, for a store at `store`.
    public struct Files: Sendable, Equatable {
        public let store: String
        public let curves: String
        public let report: String
        /// Nil when the run had no validation pass to draw.
        public let confusionImage: String?
        public let confusionText: String?

        init(store: String, withConfusion: Bool) {
            let folder = AtomicFileWriter.directory(of: store)
            self.store = store
            curves = "\(folder)/training-curves.svg"
            report = "\(folder)/report.html"
            confusionImage = withConfusion ? "\(folder)/confusion-matrix.svg" : nil
            confusionText = withConfusion ? "\(folder)/confusion-matrix.txt" : nil
        }

        /// Every path written, the store first.
        public var all: [String] { [store, report, curves] + [confusionImage, confusionText].compactMap { $0 } }
    }

    /// The fine-tuned store's metadata.
    public var metadata: StoreMetadata
    public let stateDict: [(name: String, tensor: RawTensor)]
    public let classes: [String]
    public let history: [EpochReport]
    /// The last validation pass (the confusion matrix), if any ran.
    public let validation: EvaluationResult?
    /// `report.html`'s content.
    public let report: TrainingReport

    /// How many of the highest-loss validation images the report shows.
    public static let reportExamples = 8

    /// The output of `tuner`'s run: its model's state dict, with metadata naming `arch`, the dataset's
    /// classes, `preprocessing` as the record, and as provenance `source` (the pretrained store's file,
    /// and its weights unless the preprocessing was chosen by named weights) and the settings.
    public init(tuner: FineTuner, arch: String, preprocessing: PreprocessingChoice, source: WeightStore) throws {
        var meta = StoreMetadata()
        meta.arch = arch
        meta.classes = tuner.data.classes
        try meta.record(preprocessing.pipeline)
        meta.weights = preprocessing.weights ?? source.metadata.weights
        // What the graph was built with beyond the architecture (a timm model name, its BatchNorm eps)
        // stays with the weights, so the tuned store exports and loads as the source did.
        meta.timmArchitecture = source.metadata.timmArchitecture
        meta.bnEps = source.metadata.bnEps
        if !source.sourcePath.isEmpty { meta.sourceFile = (source.sourcePath as NSString).lastPathComponent }
        meta.notes = ["fine-tuned by Graft: \(tuner.settings.summary)", "preprocessing: \(preprocessing.source)"]
        metadata = meta
        stateDict = try tuner.finalStateDict()
        classes = tuner.data.classes
        history = tuner.history
        validation = tuner.finalValidation
        let data = tuner.data
        report = TrainingReport(
            title: "\(arch) fine-tuned on \((data.root as NSString).lastPathComponent)",
            facts: ["\(data.train.count) training and \(data.validation.count) validation images in \(data.classes.count) classes (\(data.root))",
                    "from \(meta.sourceFile ?? "a store")\(meta.weights.map { " (\($0))" } ?? ""); preprocessing: \(preprocessing.source)",
                    tuner.settings.summary + (tuner.stoppedEarly ? "; stopped after epoch \(tuner.epochsDone)" : "")],
            classes: data.classes, history: tuner.history, validation: validation,
            examples: try tuner.highestLossExamples(count: Self.reportExamples),
            learningRates: TrainingReport.scheduleSeries(tuner.trainer))
    }

    /// The confusion matrix as an aligned table with per-class accuracy (nil without validation).
    public var confusionText: String? { validation.map { TrainingCharts.confusionText($0, classes: classes) } }

    /// Writes the store at `path` and the charts beside it, creating the folder if needed. Every chart
    /// is drawn before anything is written, and the charts are committed only after the store is, so
    /// a failure leaves either nothing new or the store (each file is whole or absent, never partial).
    @discardableResult
    public func save(to path: String) throws -> Files {
        let files = Files(store: path, withConfusion: validation != nil)
        try FileManager.default.createDirectory(atPath: AtomicFileWriter.directory(of: path), withIntermediateDirectories: true)
        var charts: [(path: String, bytes: [UInt8])] = [(files.report, Array(report.html().utf8)),
                                                         (files.curves, Array(report.curvesSVG().utf8))]
        if let svg = report.confusionSVG(), let image = files.confusionImage, let text = files.confusionText, let table = confusionText {
            charts.append((image, Array(svg.utf8)))
            charts.append((text, Array(table.utf8)))
        }
        // Written now, committed after the store: dropped writers remove their temporary files.
        let pending = try charts.map { chart -> AtomicFileWriter in
            let writer = try AtomicFileWriter(destination: chart.path)
            try writer.write(chart.bytes)
            return writer
        }
        try WeightStore.inMemory(stateDict, metadata: metadata).writeSafetensors(to: path)
        for writer in pending { try writer.commit() }
        return files
    }
}
