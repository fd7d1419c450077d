/// Everything a search mutates besides tensors, in one value: a snapshot is
/// this value (in its manifest) plus the tensor files, and restoring one
/// replaces it whole. A new piece of run state goes here — and nowhere else —
/// so that snapshots, resume and rollback carry it without further code.
///
public struct SearchState: Codable, Sendable, Equatable {
    /// Completed steps since the start of the run.
    public var step = 0
    /// The epoch in progress (0-based); equals `config.epochs` when done.
    public var epoch = 0
    public var stepInEpoch = 0
    /// The parameters in force (live parameters may have changed mid-run).
    public var config: SearchConfig
    /// Augmentation, drop-path masks and S4 noise.
    public var generator: RandomGenerator
    public var trainSampler: BatchSampler
    public var validSampler: BatchSampler
    /// Validation batches (and noise) for curvature measurements, apart from
    /// the run's own streams so that diagnostics never change the search.
    public var hessianSampler: BatchSampler
    /// Adam's step count, kept in step with the optimiser after every
    /// architecture step (its moments are tensors, in optimizer.safetensors).
    public var adamSteps = 0
    /// Whether a remedy's policy (DARTS-ES, DARTS-ADA at its cap) ended the search.
    public var stoppedEarly = false
    /// Each remedy's own state, by remedy name (``SearchState/remedyState(_:of:)``).
    public var remedyStates: [String: JSONValue] = [:]
    /// Set when a loss or gradient stopped being finite; the run then halts
    /// without applying the bad update.
    public var divergence: String?
    /// Running means of the epoch in progress.
    var epochTotals = EpochTotals()
    /// Every applied control command, in order (DESIGN §1).
    public var journal: [JournalEntry] = []
    /// Recent metric events (all epoch-level ones, the last
    /// ``SearchEngine/historyLimit`` steps), so a snapshot carries the curves
    /// seen so far.
    public var history: [TelemetryEvent] = []

    init(config: SearchConfig, generator: RandomGenerator, trainSampler: BatchSampler, validSampler: BatchSampler,
         hessianSampler: BatchSampler) {
        self.config = config
        self.generator = generator
        self.trainSampler = trainSampler
        self.validSampler = validSampler
        self.hessianSampler = hessianSampler
    }
}

extension SearchState {
    /// What makes a stored state impossible for a run with `stepsPerEpoch`
    /// steps per epoch and these validation images, or nil. A manifest is
    /// untrusted input: a counter or sampler position out of range would
    /// index past an array, never end an epoch, or run a negative loop.
    func inconsistency(stepsPerEpoch: Int, validationIndices: [Int]) -> String? {
        guard epoch >= 0, epoch <= config.epochs else { return "epoch \(epoch) lies outside 0…\(config.epochs) (search.epochs)" }
        guard stepInEpoch >= 0, stepInEpoch < stepsPerEpoch else {
            return "step in epoch \(stepInEpoch) lies outside 0..<\(stepsPerEpoch) (steps per epoch)"
        }
        let (expected, overflow) = epoch.multipliedReportingOverflow(by: stepsPerEpoch)
        guard !overflow, step == expected + stepInEpoch else {
            return "step \(step) is not epoch \(epoch) × \(stepsPerEpoch) steps + \(stepInEpoch)"
        }
        guard adamSteps >= 0, adamSteps <= step else { return "Adam step count \(adamSteps) lies outside 0…\(step)" }
        for (name, sampler) in [("train", trainSampler), ("validation", validSampler), ("Hessian", hessianSampler)] {
            if let problem = sampler.inconsistency { return "the \(name) sampler's \(problem)" }
        }
        guard hessianSampler.indices == validationIndices else { return "the Hessian sampler does not draw from the validation split" }
        return nil
    }
}

extension BatchSampler {
    /// Why this sampler's order or position cannot be this sampler's, or nil.
    var inconsistency: String? {
        guard order.count == indices.count, Set(order) == Set(indices) else { return "order is not a permutation of its \(indices.count) indices" }
        guard position >= 0, position <= order.count else { return "position \(position) lies outside 0…\(order.count)" }
        return nil
    }
}
