import Graft

/// LeNet-5 trained from scratch with Graft's trainer: PyTorch's default initialization, one group,
/// the one-cycle schedule, SGD with momentum. Returns the model and its validation accuracy per epoch.
public func trainLeNet(data: String, epochs: Int = 10, learningRate: Double = 0.05, batchSize: Int = 32,
                       seed: UInt64 = 0, log: (String) -> Void = { _ in }) throws -> (model: Model, accuracy: [Double]) {
    let folder = try ImageFolder.load(data)
    let train = try GreyImages(folder.train, classes: folder.classes)
    let val = try GreyImages(folder.validation, classes: folder.classes)
    let net = makeLeNet5(numClasses: folder.classes.count)
    net.initialize(seed: seed, scheme: .torchDefault)
    let model = try Model(network: net, arch: "lenet5", classifierPath: "fc3", seed: seed)
    let settings = FineTuneSettings.fromScratch(epochs: epochs, batchSize: batchSize, learningRate: learningRate, seed: seed)
    let steps = (train.count + batchSize - 1) / batchSize
    let trainer = Trainer(model: model, settings: settings, totalSteps: steps * epochs, stepsPerEpoch: steps)
    var rng = SplitMix64(seed: seed)
    var accuracy: [Double] = []
    for epoch in 1...epochs {
        var order = Array(0..<train.count)
        order.shuffle(using: &rng)
        var loss = 0.0
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let b = try train.batch(order[start..<min(start + batchSize, order.count)])
            loss += Double(try trainer.trainStep(images: b.images, labels: b.labels).loss)
        }
        accuracy.append(try evaluate(model, val))
        log("epoch \(epoch): train loss \(loss / Double(steps)), val accuracy \(accuracy.last!)")
    }
    return (model, accuracy)
}

/// Top-1 accuracy in evaluation mode.
public func evaluate(_ model: Model, _ data: GreyImages) throws -> Double {
    let logits = try model.logits(data.images).values
    let k = logits.count / max(data.count, 1)
    let correct = data.labels.enumerated().filter { i, label in
        let row = logits[(i * k)..<((i + 1) * k)]
        return row.indices.max { row[$0] < row[$1] }! - i * k == label
    }.count
    return Double(correct) / Double(max(data.count, 1))
}
