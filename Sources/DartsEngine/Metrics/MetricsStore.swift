import Foundation

/// What the engine is doing, as the dashboard's header shows it.
public enum RunState: String, Sendable, Codable {
    case running = "RUNNING"
    case paused = "PAUSED"
    case stepping = "STEPPING"
    case stopped = "STOPPED"
    case finished = "FINISHED"
    case diverged = "DIVERGED"
}

/// A fixed-capacity buffer that keeps the newest elements.
public struct RingBuffer<Element: Sendable>: Sendable {
    public let capacity: Int
    private var storage: [Element] = []
    private var start = 0

    public init(capacity: Int) {
        require(capacity > 0, "RingBuffer: capacity must be positive, got \(capacity)")
        self.capacity = capacity
    }

    public mutating func append(_ element: Element) {
        if storage.count < capacity {
            storage.append(element)
        } else {
            storage[start] = element
            start = (start + 1) % capacity
        }
    }

    public mutating func removeAll() {
        storage.removeAll()
        start = 0
    }

    /// Oldest first.
    public var elements: [Element] { Array(storage[start...] + storage[..<start]) }
    public var count: Int { storage.count }
    public var last: Element? { storage.isEmpty ? nil : storage[(start + storage.count - 1) % storage.count] }
}

/// An immutable copy of everything the dashboard draws, taken under the
/// store's lock in one go so a frame never mixes two engine states.
public struct MetricsSnapshot: Sendable {
    public var state: RunState = .running
    public var step = 0
    public var epoch = 0
    public var totalSteps = 0
    public var stepsPerEpoch = 0
    public var config = SearchConfig()
    /// Step at which each live parameter was last changed (absent: from the config).
    public var parameterChanges: [String: Int] = [:]
    public var lastStep: MetricEvent?
    public var lastEpoch: MetricEvent?
    public var lastAlphas: MetricEvent?
    /// Recent step events (newest last) and every epoch event.
    public var steps: [MetricEvent] = []
    public var epochs: [MetricEvent] = []
    /// The latest event of every other type (hessian, es, lambda, ...).
    public var latest: [String: MetricEvent] = [:]
    /// Every DARTS-ES report (one per eigenvalue epoch) and recent alignment reports.
    public var esHistory: [MetricEvent] = []
    public var alignmentHistory: [MetricEvent] = []
    /// Messages for the status line, newest last.
    public var messages: [String] = []
    public var stepsPerSecond = Double.nan
    /// Where the run's snapshots are (`:rollback` completes names from it);
    /// nil when the engine writes none.
    public var snapshotDirectory: String?

    /// An empty snapshot (what the store holds before the engine's first report).
    public init() {}
}

/// The one place the engine thread and the UI thread share metrics: the
/// engine records events (a short critical section per event), the UI takes
/// ``MetricsSnapshot`` copies whenever it redraws. Neither ever waits on
/// the other's work.
public final class MetricsStore: MetricsSink, @unchecked Sendable {
    // @unchecked: every stored property is guarded by `lock`.
    private let lock = NSLock()
    private var current = MetricsSnapshot()
    private var steps: RingBuffer<MetricEvent>
    private var messages = RingBuffer<String>(capacity: 50)
    private var stepTimes = RingBuffer<(Double, Int)>(capacity: 64)
    private var alignments = RingBuffer<MetricEvent>(capacity: 400)
    private var changes = 0

    /// Counts every change to the store, so a reader can skip taking a
    /// snapshot (and redrawing) while nothing happened.
    public var changeCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return changes
    }

    public init(stepHistory: Int = 2000) {
        steps = RingBuffer(capacity: stepHistory)
    }

    /// Seeds the store from an engine's current state and history (at start,
    /// after a resume or a rollback).
    public func reset(from engine: SearchEngine) {
        let history = engine.history
        lock.lock()
        defer { lock.unlock() }
        changes += 1
        steps.removeAll()
        alignments.removeAll()
        current.epochs = []
        current.esHistory = []
        for event in history { absorb(event) }
        current.step = engine.step
        current.epoch = engine.epoch
        current.totalSteps = engine.totalSteps
        current.stepsPerEpoch = engine.stepsPerEpoch
        current.config = engine.config
        current.snapshotDirectory = engine.snapshotDirectory
    }

    public func record(_ event: MetricEvent) {
        lock.lock()
        defer { lock.unlock() }
        changes += 1
        absorb(event)
    }

    /// Called with the lock held.
    private func absorb(_ event: MetricEvent) {
        current.step = event.step
        current.epoch = event.epoch
        switch event.type {
        case "step":
            steps.append(event)
            current.lastStep = event
            stepTimes.append((event.wallTime, event.step))
        case "epoch":
            current.epochs.append(event)
            current.lastEpoch = event
        case "alphas":
            current.lastAlphas = event
        case "control":
            if case .string(let key)? = event["key"] { current.parameterChanges[key] = event.step }
            if case .string(let text)? = event["command"] { messages.append("step \(event.step): \(text)") }
        case "snapshot":
            if case .string(let name)? = event["name"] { messages.append("snapshot \(name) at step \(event.step)") }
        case "error", "diverged":
            let text = event["message"] ?? event["reason"]
            if case .string(let message)? = text { messages.append(message) }
        case "es":
            current.esHistory.append(event)
            current.latest[event.type] = event
        case "alignment":
            alignments.append(event)
            current.latest[event.type] = event
        default:
            current.latest[event.type] = event
        }
    }

    /// Engine-side updates that are not metric events.
    public func update(state: RunState? = nil, config: SearchConfig? = nil, snapshotDirectory: String? = nil, totalSteps: Int? = nil,
                       message: String? = nil) {
        lock.lock()
        defer { lock.unlock() }
        changes += 1
        if let state { current.state = state }
        if let config { current.config = config }
        if let snapshotDirectory { current.snapshotDirectory = snapshotDirectory }
        if let totalSteps { current.totalSteps = totalSteps }
        if let message { messages.append(message) }
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
