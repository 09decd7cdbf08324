/// ConvNeXt sizes read back from a state dict's shapes: each stage's width from its blocks' layer scale
/// (`features.{1,3,5,…}.i.layer_scale`, `[C, 1, 1]`) and its depth from how many blocks it has. The
/// stochastic-depth rate (training only) is the named size's with the same depths, else tiny's 0.1.
extension ConfigInference {
    public static func convnext(_ s: [String: [Int]]) throws -> ConvNeXtConfig {
        var stages: [ConvNeXtConfig.Stage] = []
        // Stages at features.1, .3, .5, …, downsampling layers between them (torchvision builds four;
        // miniatures fewer).
        while s["features.\(1 + 2 * stages.count).0.layer_scale"] != nil {
            let prefix = "features.\(1 + 2 * stages.count)."
            stages.append(.init(channels: try shape(s, prefix + "0.layer_scale")[0], depth: indices(s, after: prefix).count))
        }
        guard !stages.isEmpty else { throw Error.missing("features.1.0.layer_scale") }
        _ = try shape(s, "features.0.0.weight")
        let like = ConvNeXtConfig.named.values.first { $0.stages.map(\.depth) == stages.map(\.depth) }
        return ConvNeXtConfig(stages: stages, stochasticDepthProbability: like?.stochasticDepthProbability ?? 0.1,
                              numClasses: try shape(s, "classifier.2.weight")[0])
    }
}
