import GraftNN
import GraftTensor

extension FineTuner {
    /// fastai's `lr_find` on this run's model, data and recipe: the layers this run trains, at one
    /// rate for every group (as fastai sets a scalar rate on every group), growing exponentially batch
    /// by batch, over as many passes of the (shuffled, augmented) training data as it takes; on cached
    /// features when the run would use them. The model's weights, BatchNorm statistics and random
    /// stream are put back afterwards, so the real run starts from where it would have without the
    /// test. Use a fresh `FineTuner` for the run itself (this one's optimizer has momentum from the test).
    public func findLearningRate(_ test: LRRangeTest = LRRangeTest(), onBatch: (Int, Double, Float) -> Void = { _, _, _ in })
        throws -> LRRangeRecorder {
        let weights = model.stateDict(), random = model.random.generator
        defer {
            _ = try? model.network.load(stateDict: weights, strict: true)
            model.random.generator = random
        }
        try Freezing.apply(model, freeze: settings.freeze, unfrozen: [], bn: settings.bn)
        let useCache = usesFeatureCache
        var recorder = LRRangeRecorder(test)
        var pass = 0
        while !recorder.isFinished {
            pass += 1
            let before = recorder.learningRates.count
            var metrics = MetricsAccumulator(classes: data.classes.count)
            try trainOneEpoch(pass, useCache: useCache, metrics: &metrics) { [trainer, optimizer] logits, targets in
                let lr = recorder.nextLearningRate
                for g in optimizer.groups { g.learningRate = Float(lr) }
                let loss = try trainer.learn(logits: logits, targets: targets, applyingSchedule: false)
                let goOn = recorder.record(loss: loss)
                onBatch(recorder.learningRates.count, lr, recorder.smoothedLosses.last ?? loss)
                return goOn ? loss : nil
            }
            // No readable training image: nothing to learn from, and no end to the passes.
            if recorder.learningRates.count == before { throw FineTuneError.noTrainingBatches(folder: data.root) }
        }
        return recorder
    }
}
