import Foundation

/// A payload with the step, epoch and wall time of the event that carried it.
public struct Stamped<Value: Sendable & Equatable>: Sendable, Equatable {
    public var step: Int
    public var epoch: Int
    public var wallTime: Double
    public var value: Value

    public init(step: Int, epoch: Int, wallTime: Double, value: Value) {
        self.step = step
        self.epoch = epoch
        self.wallTime = wallTime
        self.value = value
    }

    init(_ event: TelemetryEvent, _ value: Value) {
        self.init(step: event.step, epoch: event.epoch, wallTime: event.wallTime, value: value)
    }
}

/// An immutable copy of everything the dashboard draws, taken under the
/// store's lock in one go so a frame never mixes two states of the search.
public struct MetricsSnapshot: Sendable {
    public var state: RunState = .running
    public var step = 0
    public var epoch = 0
    /// The run's layout and parameters, as its producer described them.
    public var run = RunDescription.empty
    /// Current parameter values (live changes included).
    public var values: [String: ConfigValue] = [:]
    /// Step at which each live parameter was last changed (absent: from the config).
    public var parameterChanges: [String: Int] = [:]
    /// Recent steps (newest last) and every epoch.
    public var steps: [Stamped<StepMetrics>] = []
    public var epochs: [Stamped<EpochMetrics>] = []
    public var lastAlphas: Stamped<AlphaMetrics>?
    public var lastHessian: Stamped<HessianMetrics>?
    public var lastLambda: Stamped<LambdaHealth>?
    public var lastAlignment: Stamped<AlignmentMetrics>?
    /// Every DARTS-ES report (one per eigenvalue epoch) and recent alignment reports.
    public var earlyStopping: [Stamped<EarlyStoppingReport>] = []
    /// Every epoch-end eigenvalue measurement.
    public var epochEndHessians: [Stamped<HessianMetrics>] = []
    public var alignmentHistory: [Stamped<AlignmentMetrics>] = []
    /// Messages for the status line, newest last, and how many ever arrived
    /// (so a reader notices a new one even when the buffer is full).
    public var messages: [String] = []
    public var messageCount = 0
    public var stepsPerSecond = Double.nan
    /// The run's snapshots, oldest first (`:rollback` completes them).
    public var snapshots: [String] = []
    /// After `:fork`: the run left behind, continued without the fork's
    /// changes, whose curves the dashboard draws faintly under the fork's.
    public var parent: ParentRun?

    /// Where the metrics come from when that is not this process: an
    /// attached probe or a metrics file (nil for the in-process engine).
    public var source: RemoteSource?

    /// An empty snapshot (what the store holds before the first report).
    public init() {}

    public var lastStep: Stamped<StepMetrics>? { steps.last }
    public var lastEpoch: Stamped<EpochMetrics>? { epochs.last }
    public var lastEarlyStopping: Stamped<EarlyStoppingReport>? { earlyStopping.last }
    public var totalSteps: Int { run.totalSteps }
    public var stepsPerEpoch: Int { run.stepsPerEpoch }

    public func value(_ key: String) -> ConfigValue? { values[key] }
    public func flag(_ key: String) -> Bool { values[key]?.flagValue ?? false }
    public func real(_ key: String) -> Double? { values[key]?.realValue }
    public func text(_ key: String) -> String? { values[key]?.textValue }

    /// Epoch-end eigenvalues with the ES local average and trigger marks —
    /// or, from a producer that runs no DARTS-ES (a probe), its epoch-end
    /// `hessian` measurements alone.
    public var eigenvalues: [(value: Double, localAverage: Double, triggered: Bool)] {
        if earlyStopping.isEmpty { return epochEndHessians.map { ($0.value.eigenvalue, .nan, false) } }
        return earlyStopping.map { ($0.value.eigenvalue, $0.value.localAverage ?? .nan, $0.value.triggered) }
    }

    /// Mean pairwise valid cosine of recent steps for a cell type.
    public func alignmentTrend(_ type: String) -> [Double] {
        alignmentHistory.compactMap { $0.value.cellType(type)?.validCorrelation }
    }
}

/// The counterfactual of a fork: the parent run's epochs and eigenvalues,
/// its own history up to the fork and its continuation's after it.
public struct ParentRun: Sendable {
    public var name: String
    public var forkStep: Int
    public var epochs: [Stamped<EpochMetrics>]
    public var earlyStopping: [Stamped<EarlyStoppingReport>]

    public init(name: String, forkStep: Int, epochs: [Stamped<EpochMetrics>], earlyStopping: [Stamped<EarlyStoppingReport>]) {
        self.name = name
        self.forkStep = forkStep
        self.epochs = epochs
        self.earlyStopping = earlyStopping
    }

    public var eigenvalues: [Double] { earlyStopping.map(\.value.eigenvalue) }
}

/// The one place a producer's thread and the UI thread share metrics: the
/// producer records events (a short critical section per event), the UI
/// takes ``MetricsSnapshot`` copies whenever it redraws. Neither ever waits
/// on the other's work.
public final class MetricsStore: MetricsSink, @unchecked Sendable {
    // @unchecked: every stored property is guarded by `lock`.
    private let lock = NSLock()
    private var current = MetricsSnapshot()
    private var steps: RingBuffer<Stamped<StepMetrics>>
    private var messages = RingBuffer<String>(capacity: 50)
    private var stepTimes = RingBuffer<(Double, Int)>(capacity: 64)
    private var alignments = RingBuffer<Stamped<AlignmentMetrics>>(capacity: 400)
    private var changes = 0

    /// Counts every change to the store, so a reader can skip taking a
    /// snapshot (and redrawing) while nothing happened.
    public var changeCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return changes
    }

    /// The recent steps the dashboard's curves draw.
    public static let defaultStepHistory = 2000

    public init(stepHistory: Int = MetricsStore.defaultStepHistory) {
        steps = RingBuffer(capacity: stepHistory)
    }

    /// Seeds the store with a run's description, position and history (at
    /// start, after a resume or a rollback).
    public func reset(run: RunDescription, values: [String: ConfigValue], step: Int, epoch: Int, history: [TelemetryEvent], snapshots: [String]) {
        lock.lock()
        defer { lock.unlock() }
        changes += 1
        steps.removeAll()
        alignments.removeAll()
        current.epochs = []
        current.earlyStopping = []
        current.epochEndHessians = []
        current.run = run
        for event in history { absorb(event) }
        current.values = values
        current.step = step
        current.epoch = epoch
        current.snapshots = snapshots
    }

    public func record(_ event: TelemetryEvent) {
        lock.lock()
        defer { lock.unlock() }
        changes += 1
        absorb(event)
    }

    /// Called with the lock held.
    private func absorb(_ event: TelemetryEvent) {
        current.step = event.step
        current.epoch = event.epoch
        switch event.payload {
        case .run(let run):
            current.run = run
            current.values = run.values
        case .step(let metrics):
            steps.append(Stamped(event, metrics))
            stepTimes.append((event.wallTime, event.step))
        case .epoch(let metrics): current.epochs.append(Stamped(event, metrics))
        case .alphas(let metrics): current.lastAlphas = Stamped(event, metrics)
        case .hessian(let metrics):
            current.lastHessian = Stamped(event, metrics)
            if metrics.atEpochEnd { current.epochEndHessians.append(Stamped(event, metrics)) }
        case .lambda(let metrics): current.lastLambda = Stamped(event, metrics)
        case .earlyStopping(let report): current.earlyStopping.append(Stamped(event, report))
        case .alignment(let metrics):
            let stamped = Stamped(event, metrics)
            alignments.append(stamped)
            current.lastAlignment = stamped
        case .control(let control):
            if let key = control.key { current.parameterChanges[key] = event.step }
            post("step \(event.step): \(control.command)")
        case .snapshot(let snapshot):
            post("snapshot \(snapshot.name) at step \(event.step)")
            if !current.snapshots.contains(snapshot.name) { current.snapshots.append(snapshot.name) }
        case .error(let error): post(error.message)
        case .diverged(let divergence): post(divergence.reason)
        case .earlyStop, .adaptation, .fork, .unknown:
            break
        }
    }

    /// Called with the lock held.
    private func post(_ message: String) {
        messages.append(message)
        current.messageCount += 1
    }

    /// Starts the counterfactual of a fork at `step`: the parent's history is
    /// the run's up to there (replacing an earlier fork's).
    public func beginParent(name: String, forkStep step: Int) {
        lock.lock()
        defer { lock.unlock() }
        changes += 1
        current.parent = ParentRun(name: name, forkStep: step, epochs: current.epochs.filter { $0.step <= step },
                                   earlyStopping: current.earlyStopping.filter { $0.step <= step })
    }

    /// An event of the parent's continuation; only what it adds after the
    /// fork counts (a resumed run repeats nothing, but a restarted one may).
    public func recordParent(_ event: TelemetryEvent) {
        lock.lock()
        defer { lock.unlock() }
        guard var parent = current.parent, event.step > parent.forkStep else { return }
        switch event.payload {
        case .epoch(let metrics):
            guard event.step > (parent.epochs.last?.step ?? -1) else { return }
            parent.epochs.append(Stamped(event, metrics))
        case .earlyStopping(let report):
            guard event.step > (parent.earlyStopping.last?.step ?? -1) else { return }
            parent.earlyStopping.append(Stamped(event, report))
        default:
            return
        }
        changes += 1
        current.parent = parent
    }

    /// Producer-side updates that are not metric events.
    public func update(state: RunState? = nil, values: [String: ConfigValue]? = nil, snapshots: [String]? = nil, message: String? = nil,
                       source: RemoteSource? = nil) {
        lock.lock()
        defer { lock.unlock() }
        changes += 1
        if let source { current.source = source }
        if let state { current.state = state }
        if let values { current.values = values }
        if let snapshots { current.snapshots = snapshots }
        if let message { post(message) }
    }

    public func snapshot() -> MetricsSnapshot {
        lock.lock()
        defer { lock.unlock() }
        var copy = current
        copy.steps = steps.elements
        copy.alignmentHistory = alignments.elements
        copy.messages = messages.elements
        let times = stepTimes.elements
        if let first = times.first, let last = times.last, last.0 > first.0, last.1 > first.1 {
            copy.stepsPerSecond = Double(last.1 - first.1) / (last.0 - first.0)
        }
        return copy
    }
}
