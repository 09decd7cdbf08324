/// fastai's EarlyStoppingCallback on the validation loss (TrackerCallback with `np.less`, min_delta 0):
/// an epoch improves when its loss is below the best so far (a NaN never does); after `patience`
/// epochs without improvement the run stops. The run keeps the best epoch's weights (fastai's
/// SaveModelCallback), so the saved store is that epoch's.
public struct EarlyStopping: Codable, Equatable, Sendable {
    public let patience: Int
    public private(set) var bestLoss: Double?
    public private(set) var bestEpoch: Int?
    /// Epochs since the best.
    public private(set) var wait = 0

    public init(patience: Int) { self.patience = max(patience, 1) }

    public var shouldStop: Bool { wait >= patience }

    /// Records an epoch's validation loss; true when it is the new best.
    public mutating func observe(epoch: Int, validationLoss loss: Double) -> Bool {
        if loss < (bestLoss ?? .infinity) {
            bestLoss = loss
            bestEpoch = epoch
            wait = 0
            return true
        }
        wait += 1
        return false
    }
}
