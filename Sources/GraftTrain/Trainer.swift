import GraftImage
import GraftModels
import GraftNN
import GraftTensor

/// The optimization core of fine-tuning, independent of where batches come from: parameter groups
/// with their learning rates, the schedule evaluated per step, and one step = forward, cross-entropy,
/// backward, schedule, update.
public final class Trainer {
    public let model: Model
    public let optimizer: Optimizer
    public let layerGroups: [(name: String, parameters: [Parameter])]
    public let schedule: Schedule
    public let labelSmoothing: Float
    /// Steps in the whole run (the schedule's horizon) and per epoch.
    public let totalSteps: Int
    public let stepsPerEpoch: Int
    public private(set) var step = 0
    /// Per-class loss weights (`--balance loss`); nil is the plain loss.
    public var classWeights: [Float]?

    /// Groups the model's parameters (standard, fine for layer decay, or custom boundaries), gives each
    /// group its learning rate, and splits off BatchNorm parameters and biases without weight decay
    /// (unless `decayNormAndBias`).
    public init(model: Model, settings: FineTuneSettings, totalSteps: Int, stepsPerEpoch: Int) {
        self.model = model
        self.schedule = settings.schedule
        self.labelSmoothing = settings.labelSmoothing
        self.totalSteps = max(totalSteps, 1)
        self.stepsPerEpoch = max(stepsPerEpoch, 1)
        layerGroups = settings.layerDecay != nil ? LayerGroups.fine(model)
            : settings.groupBoundaries.map { LayerGroups.custom(model, boundaries: $0) } ?? LayerGroups.standard(model)
        let rates = settings.learningRate.rates(groups: layerGroups.count, layerDecay: settings.layerDecay)
        var groups: [ParameterGroup] = []
        for (i, g) in layerGroups.enumerated() {
            let trainable = g.parameters.filter { $0.kind != .buffer }
            let exempt = { (p: Parameter) in !settings.decayNormAndBias && (p.kind == .normAffine || p.kind == .bias) }
            for (suffix, ps, wd) in [("", trainable.filter { !exempt($0) }, settings.weightDecay),
                                     (" (no decay)", trainable.filter(exempt), 0)] where !ps.isEmpty {
                groups.append(ParameterGroup(name: g.name + suffix, parameters: ps, learningRate: Float(rates[i]),
                                             weightDecay: Float(wd), momentum: Float(settings.momentum)))
            }
        }
        switch settings.optimizer {
        case .sgd: optimizer = SGD(groups: groups, nesterov: settings.nesterov)
        case .adamw: optimizer = AdamW(groups: groups)
        }
    }

    /// One optimizer step on a batch of images (training mode); returns the logits and the mean loss.
    @discardableResult
    public func trainStep(images: Tensor, labels: [Int]) throws -> (logits: Tensor, loss: Float) {
        model.prepareTraining()
        let logits = try model.forward(images)
        return (logits, try learn(logits: logits, labels: labels))
    }

    /// One optimizer step from logits the model just produced in training mode.
    /// `applyingSchedule: false` keeps the groups' rates as they are (the LR range test sets them).
    public func learn(logits: Tensor, labels: [Int], applyingSchedule: Bool = true) throws -> Float {
        try learn(logits: logits, targets: BatchTargets(labels: labels), applyingSchedule: applyingSchedule)
    }

    /// One step on hard labels (cross-entropy, class-weighted with `classWeights`) or on MixUp/CutMix
    /// soft targets (timm's SoftTargetCrossEntropy; smoothing is already in them).
    public func learn(logits: Tensor, targets: BatchTargets, applyingSchedule: Bool = true) throws -> Float {
        let labels = targets.labels
        let (loss, grad) = try targets.soft.map { try softTargetCrossEntropy(logits: logits, targets: $0) }
            ?? classWeights.map { try crossEntropy(logits: logits, targets: labels, labelSmoothing: labelSmoothing, classWeights: $0) }
            ?? crossEntropy(logits: logits, targets: labels, labelSmoothing: labelSmoothing)
        optimizer.zeroGradients()
        try model.backward(grad)
        if applyingSchedule { applySchedule() }
        try optimizer.step()
        return loss
    }

    /// Continues the schedule at `step` (a resumed run).
    func restore(step: Int) { self.step = step }

    /// Sets each group's learning rate (and momentum) for the current step, then advances.
    private func applySchedule() {
        let (factor, momentum) = schedule.values(step: step, totalSteps: totalSteps, stepsPerEpoch: stepsPerEpoch)
        for g in optimizer.groups {
            g.learningRate = Float(Double(g.baseLearningRate) * factor)
            if let m = momentum { g.momentum = Float(m) }
        }
        step += 1
    }
}

/// A batch's targets: its labels (metrics use them), and MixUp/CutMix soft targets when the batch was mixed.
public struct BatchTargets {
    public let labels: [Int]
    public let soft: Tensor?

    public init(labels: [Int], soft: Tensor? = nil) {
        self.labels = labels
        self.soft = soft
    }
}
