import Foundation

/// The one driver of a search: it owns the engine, applies ``ControlCommand``s
/// at step boundaries (pause, resume, step, set, snapshot, rollback, fork,
/// stop), replays a journal, sets the process's thread count and keeps the
/// ``MetricsStore`` current. A headless run drives it on the calling thread
/// until the search ends; the dashboard starts it on a thread of its own and
/// talks to it only through the queue and the store.
public final class SearchRun: SearchConnection, @unchecked Sendable {
    // @unchecked: `engine`, `replay`, `paused` and `budget` are used only by
    // the thread that runs the loop; `finished` is guarded by `finishedCondition`.
    private let engine: SearchEngine
    public let queue = ControlQueue()
    public let store: MetricsStore
    private var replay: JournalReplay?
    private var paused: Bool
    /// Steps left to run before pausing again (`n`, `N` keys).
    private var budget: Int?
    /// The step at which `--steps N` ends (headless) or pauses (dashboard) the
    /// run, with a snapshot `steps-STEP`.
    private var stepTarget: Int?
    private var thread: Thread?
    private let finishedCondition = NSCondition()
    private var finished = false

    /// `stepLimit`: run that many steps from here, then snapshot and stop (or pause, under a dashboard).
    public init(engine: SearchEngine, store: MetricsStore = MetricsStore(), startPaused: Bool = false, replay: JournalReplay? = nil,
                stepLimit: Int? = nil) {
        self.engine = engine
        stepTarget = stepLimit.map { engine.step + $0 }
        self.store = store
        self.paused = startPaused
        self.replay = replay
        setThreadCount(engine.config.threads)
        engine.addSink(store)
        store.reset(from: engine)
        store.update(state: startPaused ? .paused : .running)
    }

    /// Runs the search on a thread of its own, until a `stop` command.
    public func start() {
        let thread = Thread { [self] in loop(untilFinished: false) }
        thread.name = "dartscope-engine"
        thread.stackSize = 16 << 20
        self.thread = thread
        thread.start()
    }

    /// Runs the search on the calling thread until it ends (all epochs,
    /// DARTS-ES, divergence, a `stop` command or the journal's stop). A
    /// journal entry that no longer applies is an error here: a replay that
    /// silently departs from its journal would reproduce nothing.
    public func runToCompletion() throws {
        loop(untilFinished: true)
        if let replayError { throw replayError }
    }

    private var replayError: Error?

    public func send(_ command: ControlCommand) { queue.send(command) }

    public func stopAndWait() {
        queue.send(.stop)
        waitUntilFinished()
    }

    /// Blocks until the loop has ended (after `stop`).
    public func waitUntilFinished() {
        finishedCondition.lock()
        while !finished { finishedCondition.wait() }
        finishedCondition.unlock()
    }

    public var isFinished: Bool {
        finishedCondition.lock()
        defer { finishedCondition.unlock() }
        return finished
    }

    private func loop(untilFinished: Bool) {
        defer {
            finishedCondition.lock()
            finished = true
            finishedCondition.broadcast()
            finishedCondition.unlock()
        }
        while true {
            for command in queue.drain() {
                if command == .stop {
                    _ = try? engine.apply(.stop)
                    store.update(state: .stopped, message: "stopped at step \(engine.step)")
                    return
                }
                handle(command)
            }
            if var pending = replay {
                do {
                    if try pending.applyDue(to: engine) {
                        store.update(state: .stopped, message: "journal replay reached its stop")
                        return
                    }
                } catch {
                    store.update(message: "journal replay failed: \(error)")
                    if untilFinished {
                        replayError = error
                        return
                    }
                }
                replay = pending
            }
            if engine.isFinished {
                store.update(state: engine.divergence != nil ? .diverged : .finished)
                if untilFinished { return }
                queue.wait(timeout: 0.2)
                continue
            }
            if let target = stepTarget, engine.step >= target {
                stepTarget = nil
                reachStepLimit()
                if untilFinished { return }
                continue
            }
            if paused && (budget ?? 0) == 0 {
                queue.wait(timeout: 0.2)
                continue
            }
            engine.runStep()
            if let remaining = budget {
                budget = remaining - 1
                if remaining - 1 <= 0 {
                    budget = nil
                    paused = true
                    store.update(state: .paused)
                }
            }
        }
    }

    /// `--steps N` reached: a snapshot of exactly this point, then a stop
    /// (headless) or a pause (dashboard), so two implementations can be
    /// compared step for step.
    private func reachStepLimit() {
        let name = "steps-\(engine.step)"
        var message: String
        do { message = try engine.apply(.snapshot(name: name)) } catch { message = "error: no snapshot at the step limit: \(error)" }
        paused = true
        budget = nil
        store.update(state: .paused, snapshots: engine.snapshotNames, message: "step limit reached at step \(engine.step); " + message)
    }

    private func handle(_ command: ControlCommand) {
        do {
            switch command {
            case .pause:
                paused = true
                budget = nil
                store.update(state: .paused)
            case .resume:
                paused = false
                budget = nil
                store.update(state: .running)
            case .step(let count):
                guard count >= 1 else { throw CommandError.config(.invalidValue(key: "step", value: String(count), allowed: "a positive step count")) }
                paused = true
                budget = count
                store.update(state: .stepping)
            case .stepEpoch:
                paused = true
                budget = engine.stepsPerEpoch - engine.stepInEpoch
                store.update(state: .stepping)
            case .set, .snapshot, .rollback, .fork, .stop:
                break
            }
            let message = try engine.apply(command)
            if case .rollback = command { store.reset(from: engine) }
            // A set or rollback changes values; a fork moves the snapshot folder.
            store.update(values: engine.parameterValues, snapshots: engine.snapshotNames, message: message)
        } catch {
            store.update(message: "error: \(error)")
        }
    }
}

extension MetricsStore {
    /// Seeds the store from an engine's description, position and history.
    func reset(from engine: SearchEngine) {
        reset(run: engine.runDescription, values: engine.parameterValues, step: engine.step, epoch: engine.epoch,
              history: engine.history, snapshots: engine.snapshotNames)
    }
}

extension SearchEngine {
    /// The run's snapshots, oldest first (none without a snapshot folder).
    public var snapshotNames: [String] { snapshotDirectory.map(LoadedSnapshot.names(in:)) ?? [] }
}
