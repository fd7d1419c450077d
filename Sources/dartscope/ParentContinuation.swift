import DartsEngine
import Foundation

/// The counterfactual of `:fork`: when the dashboard's run forks, the run it
/// leaves behind is resumed from its fork snapshot as a headless child on
/// one thread, and the epochs it appends to its own metrics file are fed to
/// the metrics store, which the dashboard draws faintly under the fork's
/// curves. So after `:fork lambda-on` and `:set lambda.enabled true` the user
/// sees what Λ changed against the same search without it.
///
/// The child shares the two cores with the fork (each search runs at about
/// half speed while both do); it stops when the dashboard closes, resumable
/// from its last epoch snapshot. A second fork replaces the first's child.
final class ParentContinuation: MetricsSink, @unchecked Sendable {
    // @unchecked: `child` and `generation` are guarded by `lock`; a follower
    // thread runs while its generation is the current one.
    private let store: MetricsStore
    private let lock = NSLock()
    private var child: Process?
    private var generation = 0

    init(store: MetricsStore) { self.store = store }

    func record(_ event: TelemetryEvent) {
        guard case .fork(let fork) = event.payload else { return }
        start(fork, at: event.step)
    }

    private func start(_ fork: ForkReport, at step: Int) {
        stop()
        let runFolder = ((fork.snapshot as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        let metricsPath = runFolder + "/metrics.jsonl"
        let offset = (try? FileManager.default.attributesOfItem(atPath: metricsPath)[.size] as? UInt64) ?? 0
        store.beginParent(name: fork.from, forkStep: step)
        do {
            let process = try launchDartscope(["resume", fork.snapshot, "--headless", "--set", "search.threads=1", "--stop-with-parent"],
                                              log: runFolder + "/continuation.log")
            lock.lock()
            generation += 1
            let mine = generation
            child = process
            let thread = Thread { [self] in follow(metricsPath, from: offset, generation: mine) }
            thread.name = "dartscope-parent-follower"
            lock.unlock()
            thread.start()
            store.update(message: "\(fork.from) continues without the fork's changes (1 thread, \(runFolder)): drawn faintly under \(fork.to)'s curves")
        } catch {
            store.update(message: "error: cannot continue \(fork.from) as the fork's counterfactual: \(error)")
        }
    }

    /// Stops the child (it keeps its epoch snapshots); its follower ends at its next poll.
    func stop() {
        lock.lock()
        defer { lock.unlock() }
        generation += 1
        if let child, child.isRunning { child.terminate() }
        child = nil
    }

    private func isCurrent(_ generation: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return generation == self.generation
    }

    /// Reads the lines the child appends after `offset`, twice a second,
    /// until it is replaced or stopped. A line is taken only once complete;
    /// one that does not decode is skipped (the file is the child's, but it
    /// is still a file: nothing in it is trusted to be well formed).
    private func follow(_ path: String, from offset: UInt64, generation: Int) {
        var position = offset
        var pending = Data()
        while isCurrent(generation) {
            if let handle = FileHandle(forReadingAtPath: path) {
                handle.seek(toFileOffset: position)
                let chunk = handle.readData(ofLength: 1 << 20)
                handle.closeFile()
                position += UInt64(chunk.count)
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[pending.startIndex..<newline]
                    pending.removeSubrange(pending.startIndex...newline)
                    if let text = String(data: line, encoding: .utf8), let event = try? TelemetryEvent(jsonLine: text) {
                        store.recordParent(event)
                    }
                }
                if pending.count > 1 << 22 { pending.removeAll() }  // no line is this long: drop the garbage
                if !chunk.isEmpty { continue }
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }
}
