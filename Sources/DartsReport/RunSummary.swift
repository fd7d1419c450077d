/// The numbers an experiment table compares runs on, and whether the run
/// collapsed by the definition issue 16 fixes (docs/remedies.md, "Collapse").
public struct RunSummary: Sendable, Equatable {
    public var epochs: Int
    /// The architecture the run returns: the last epoch's, or DARTS-ES's stop epoch's.
    public var returnedEpoch: Int?
    public var returnedRegret: Double?
    public var finalRegret: Double?
    public var minimumRegret: Double?
    public var minimumRegretEpoch: Int?
    public var earlyStopEpoch: Int?
    public var finalSkipCount: Int?
    public var finalParameterFreeCount: Int?
    public var normalEdgeCount: Int?
    /// Mean epoch-end eigenvalue of the first three epochs.
    public var earlyLambdaMax: Double?
    public var maximumLambdaMax: Double?
    public var finalValidAccuracy: Double?
    public var finalDiscreteAccuracy: Double?
    public var medianClipFactor: Double?
    public var wallTime: Double
    public var failure: String?
    public var collapse: Collapse

    /// Each criterion of collapse, and when all of them first held.
    public struct Collapse: Sendable, Equatable {
        /// Regret ended ≥ 3× its minimum and ≥ 0.02 above it (about the
        /// table's spread over seeds), or ≥ 0.1 above it.
        public var regretRose: Bool?
        /// The last epoch's normal cell has ≥ 6 of 8 parameter-free edges
        /// (every edge, in a space with fewer than 8).
        public var parameterFree: Bool
        /// The largest epoch-end eigenvalue is at least twice the early level.
        public var curvatureDoubled: Bool?
        /// The first epoch from which the cell stays parameter-free through
        /// the end with regret already risen (when known), and its wall time.
        public var epoch: Int?
        public var wallTime: Double?

        public var happened: Bool { regretRose != false && parameterFree && curvatureDoubled != false }
    }

    public init(_ record: RunRecord) {
        let epochs = record.epochs
        self.epochs = epochs.count
        earlyStopEpoch = record.earlyStopEpoch
        medianClipFactor = record.medianClipFactor
        wallTime = record.wallTime
        failure = record.failure
        let last = epochs.last
        let returned = record.earlyStopEpoch.flatMap { stop in epochs.last { $0.epoch == stop } } ?? last
        returnedEpoch = returned?.epoch
        returnedRegret = returned?.regret
        finalRegret = last?.regret
        let regrets = epochs.compactMap { epoch in epoch.regret.map { (epoch.epoch, $0) } }
        if let minimum = regrets.min(by: { $0.1 < $1.1 }) {
            minimumRegretEpoch = minimum.0
            minimumRegret = minimum.1
        }
        finalSkipCount = last?.skipCount
        finalParameterFreeCount = last?.parameterFreeCount
        normalEdgeCount = last?.normalEdgeCount
        let eigenvalues = epochs.compactMap(\.lambdaMax)
        if !eigenvalues.isEmpty {
            let early = eigenvalues.prefix(3)
            earlyLambdaMax = early.reduce(0, +) / Double(early.count)
            maximumLambdaMax = eigenvalues.max()
        }
        finalValidAccuracy = last?.validAccuracy
        finalDiscreteAccuracy = last?.discreteValidAccuracy

        let minimum = minimumRegret
        func regretRisen(_ regret: Double?) -> Bool? {
            guard let regret, let minimum else { return nil }
            return (regret >= 3 * minimum && regret - minimum >= 0.02) || regret - minimum >= 0.1
        }
        func parameterFree(_ epoch: RunRecord.Epoch) -> Bool {
            guard let count = epoch.parameterFreeCount, let edges = epoch.normalEdgeCount else { return false }
            return edges < 8 ? count == edges : count >= 6
        }
        var onset: RunRecord.Epoch?
        for epoch in epochs.reversed() {
            guard parameterFree(epoch), regretRisen(epoch.regret) != false else { break }
            onset = epoch
        }
        let early = earlyLambdaMax, maximum = maximumLambdaMax
        collapse = Collapse(
            regretRose: regretRisen(last?.regret), parameterFree: last.map(parameterFree) ?? false,
            curvatureDoubled: early.flatMap { early in maximum.map { $0 >= 2 * early } },
            epoch: onset?.epoch, wallTime: onset?.wallTime)
    }
}
