/// DARTS-ES (Zela et al., ICLR 2020; R-DARTS `EVLocalAvg`): stop when the
/// local average of the dominant eigenvalue has grown by more than `factor`
/// over `delta` eigenvalue epochs.
///
/// The state is just the list of eigenvalue epochs, so the rule is
/// recomputed from it with the current parameters — they can change live.
/// With n eigenvalues recorded, the newest local average is the mean of the
/// last min(n, window) of them (none before n ≥ ⌈window/2⌉), and it belongs
/// to the epoch `frequency·⌊window/2⌋` before the newest eigenvalue (the
/// window's centre). Once that epoch minus `frequency·delta` reaches
/// `startEpoch`, the average is compared with the one `delta` entries back;
/// a ratio above `factor` stops the search at the earlier average's epoch,
/// and the reported architecture is the genotype recorded then.
public struct EarlyStopping: Codable, Sendable, Equatable {
    public struct Record: Codable, Sendable, Equatable {
        public var epoch: Int
        public var eigenvalue: Double
        public var genotype: String
    }

    public struct Parameters: Codable, Sendable, Equatable {
        public var window = 5
        public var startEpoch = 10
        public var delta = 4
        public var factor = 1.3
        /// Epochs between eigenvalue computations.
        public var frequency = 1
        public init() {}
    }

    public struct Verdict: Codable, Sendable, Equatable {
        public init(epoch: Int, stopEpoch: Int, currentAverage: Double, previousAverage: Double, genotype: String) {
            self.epoch = epoch
            self.stopEpoch = stopEpoch
            self.currentAverage = currentAverage
            self.previousAverage = previousAverage
            self.genotype = genotype
        }

        public var epoch: Int
        /// The epoch the search stops at (the earlier local average's).
        public var stopEpoch: Int
        public var currentAverage: Double
        public var previousAverage: Double
        public var genotype: String
    }

    public private(set) var records: [Record] = []

    public init() {}

    public mutating func record(epoch: Int, eigenvalue: Double, genotype: String) {
        records.removeAll { $0.epoch >= epoch }
        records.append(Record(epoch: epoch, eigenvalue: eigenvalue, genotype: genotype))
    }

    /// Forgets eigenvalues from `epoch` on (after a rollback).
    public mutating func truncate(from epoch: Int) { records.removeAll { $0.epoch >= epoch } }

    /// The local average after each record (nil where too few eigenvalues).
    public func localAverages(_ p: Parameters) -> [Double?] {
        let firstAverage = (p.window + 1) / 2
        return records.indices.map { i in
            let n = i + 1
            guard n >= firstAverage else { return nil }
            let window = records[max(0, n - p.window)..<n].map(\.eigenvalue)
            return window.reduce(0, +) / Double(window.count)
        }
    }

    /// The epoch a local average at record index i is attributed to.
    public func averageEpoch(at i: Int, _ p: Parameters) -> Int {
        records[i].epoch - p.frequency * (p.window / 2)
    }

    /// The threshold the newest average is compared with (factor × the
    /// average delta records back), when the rule is active.
    public func threshold(_ p: Parameters) -> Double? {
        let averages = localAverages(p)
        guard let last = records.indices.last, last - p.delta >= 0, let previous = averages[last - p.delta] else { return nil }
        return p.factor * previous
    }

    /// Applies the rule to the newest record.
    public func verdict(_ p: Parameters) -> Verdict? {
        guard let i = records.indices.last else { return nil }
        let averages = localAverages(p)
        guard let current = averages[i], i - p.delta >= 0, let previous = averages[i - p.delta] else { return nil }
        let comparisonEpoch = averageEpoch(at: i, p) - p.frequency * p.delta
        guard comparisonEpoch >= p.startEpoch, previous != 0, current / previous > p.factor else { return nil }
        let genotype = records.last { $0.epoch <= comparisonEpoch }?.genotype ?? records[i].genotype
        return Verdict(epoch: records[i].epoch, stopEpoch: comparisonEpoch, currentAverage: current, previousAverage: previous, genotype: genotype)
    }
}
