import DartsEngine
import DartsReport
import Foundation

/// Runs an experiment's processes, `parallel` at a time, in dependency order:
/// a variant that others fork from runs in phases (`run --steps`, then
/// `resume`), each ending on the snapshot a fork starts from.
final class ExperimentScheduler {
    /// One process to run.
    struct Task {
        var id: String
        var run: ExperimentPlan.Run
        var arguments: [String]
        /// The task whose snapshot this one starts from.
        var after: String?
        /// The snapshot this task must leave (a phase of a forked-from run).
        var leavesSnapshot: String?
        /// Ends its run: its outcome is written when it exits.
        var isFinal: Bool
        /// Readies the metrics file before launch: cut to the steps up to where the task starts.
        var startStep: Int
        var copyFrom: String?
    }

    let layout: ExperimentLayout
    let parallel: Int
    /// The runs to run: all of the plan's, or those of the chosen variants and what they fork from.
    private let selected: [ExperimentPlan.Run]
    private var tasks: [Task] = []
    private var succeeded: Set<String> = []
    private var failed: [String: String] = [:]
    private let started = Date()
    private var finishedRuns = 0
    private var finishedNow = 0
    private var totalRuns: Int { selected.count }

    /// - Parameter only: variant names to run (nil: every variant); a chosen
    ///   fork's parent is run too, since the fork starts from its snapshot.
    init(layout: ExperimentLayout, parallel: Int, only: Set<String>? = nil) {
        self.layout = layout
        self.parallel = parallel
        let plan = layout.plan
        let chosen = only.map { names in
            names.union(plan.variants.compactMap { names.contains($0.name) ? $0.fork?.from : nil })
        }
        selected = plan.runs.filter { chosen?.contains($0.variant.name) ?? true }
    }

    func run() throws {
        planTasks()
        let pending = tasks.filter(\.isFinal).count
        finishedRuns = totalRuns - pending
        let grid = "\(layout.plan.variants.count) variants × \(layout.plan.seeds.count) seeds"
        let scope = totalRuns == layout.plan.runs.count ? grid : "\(Set(selected.map(\.variant.name)).count) chosen variants of \(grid)"
        log("dartscope: experiment \(layout.plan.name): \(totalRuns) runs (\(scope)), \(finishedRuns) finished before, \(parallel) at a time")
        var running: [(task: Task, process: Process, start: Date)] = []
        while !tasks.isEmpty || !running.isEmpty {
            for (index, entry) in running.enumerated().reversed() where !entry.process.isRunning {
                running.remove(at: index)
                complete(entry.task, status: entry.process.terminationStatus, reason: entry.process.terminationReason,
                         seconds: Date().timeIntervalSince(entry.start))
            }
            dropBlockedTasks()
            while running.count < parallel, let index = tasks.firstIndex(where: { $0.after == nil || succeeded.contains($0.after!) }) {
                let task = tasks.remove(at: index)
                do {
                    running.append((task, try launch(task), Date()))
                } catch {
                    complete(task, failure: "could not start: \(error)", seconds: 0)
                }
            }
            if !running.isEmpty { Thread.sleep(forTimeInterval: 0.25) }
        }
    }

    // MARK: Planning

    private func planTasks() {
        let plan = layout.plan
        for run in selected where RunOutcome.read(layout.result(run)) == nil {
            if let fork = run.variant.fork {
                let parent = ExperimentPlan.Run(variant: plan.variants.first { $0.name == fork.from }!, seed: run.seed)
                tasks.append(Task(
                    id: run.label, run: run,
                    arguments: ["resume", layout.snapshot(parent, step: fork.step), "--headless", "--name", layout.runName(run),
                                "--metrics", layout.metrics(run)] + run.variant.overrides.flatMap { ["--set", $0] },
                    after: phaseID(parent, fork.step), isFinal: true, startStep: fork.step, copyFrom: layout.metrics(parent)))
                continue
            }
            let forkSteps = Set(plan.variants.compactMap { $0.fork?.from == run.variant.name ? $0.fork!.step : nil }).sorted()
            let fresh = ["run", "--headless", "--config", plan.configPath, "--metrics", layout.metrics(run)]
                + (plan.overrides(of: run) + ["run.name=\(layout.runName(run))"]).flatMap { ["--set", $0] }
            guard let first = forkSteps.first else {
                tasks.append(Task(id: run.label, run: run, arguments: fresh, isFinal: true, startStep: 0))
                continue
            }
            // Phases: to the first fork step, between fork steps, to the end.
            var previous: Int?
            for step in forkSteps {
                let id = phaseID(run, step)
                if FileManager.default.fileExists(atPath: layout.snapshot(run, step: step) + "/manifest.json") {
                    succeeded.insert(id)
                } else if let previous {
                    tasks.append(Task(id: id, run: run,
                                      arguments: ["resume", layout.snapshot(run, step: previous), "--headless", "--metrics", layout.metrics(run),
                                                  "--steps", String(step - previous)],
                                      after: phaseID(run, previous), leavesSnapshot: layout.snapshot(run, step: step), isFinal: false,
                                      startStep: previous))
                } else {
                    tasks.append(Task(id: id, run: run, arguments: fresh + ["--steps", String(first)],
                                      leavesSnapshot: layout.snapshot(run, step: step), isFinal: false, startStep: 0))
                }
                previous = step
            }
            tasks.append(Task(id: run.label, run: run,
                              arguments: ["resume", layout.snapshot(run, step: previous!), "--headless", "--metrics", layout.metrics(run)],
                              after: phaseID(run, previous!), isFinal: true, startStep: previous!))
        }
    }

    private func phaseID(_ run: ExperimentPlan.Run, _ step: Int) -> String { "\(run.label)@\(step)" }

    // MARK: Running

    private func launch(_ task: Task) throws -> Process {
        try prepareMetrics(task)
        let logPath = layout.log(task.run)
        if task.startStep == 0 { try? FileManager.default.removeItem(atPath: logPath) }
        return try launchDartscope(task.arguments, log: logPath)
    }

    /// A task starts from a known step: the metrics file keeps the events up
    /// to it, so a phase re-run after an interruption appends nothing twice.
    /// A fork starts a fresh file (`resume --name` does), and gets its
    /// parent's history up to the fork when it ends (``prependParentHistory(_:)``).
    private func prepareMetrics(_ task: Task) throws {
        let path = layout.metrics(task.run)
        if task.startStep == 0 || task.copyFrom != nil {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: "runs/\(layout.runName(task.run))")
            return
        }
        try write(Self.lines(of: path, upTo: task.startStep), to: path)
    }

    /// The parent's events up to the fork step, then the fork's own: one
    /// file with the whole history of the forked run.
    private func prependParentHistory(_ task: Task) throws {
        guard let parent = task.copyFrom else { return }
        let path = layout.metrics(task.run)
        // The fork's own lines are kept as written (no need to decode them to keep them all).
        let own = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
        try write(Self.lines(of: parent, upTo: task.startStep) + own, to: path)
    }

    private static func lines(of path: String, upTo step: Int) -> [Substring] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { line in
            guard let event = try? TelemetryEvent(jsonLine: line) else { return false }
            return event.step <= step
        }
    }

    private func write(_ lines: [Substring], to path: String) throws {
        try Data((lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    private func complete(_ task: Task, status: Int32, reason: Process.TerminationReason, seconds: Double) {
        if reason == .uncaughtSignal {
            // Interrupted (or killed): not an outcome; the next invocation runs it again.
            failed[task.id] = "interrupted by signal \(status)"
            log("dartscope: \(task.run.label) was interrupted (signal \(status)); it will run again next time")
            return
        }
        do { try prependParentHistory(task) } catch {
            complete(task, failure: "cannot join the parent's history: \(error)", seconds: seconds)
            return
        }
        guard status == 0 else {
            complete(task, failure: "exit status \(status): " + lastErrorLine(layout.log(task.run)), seconds: seconds, status: status)
            return
        }
        if let snapshot = task.leavesSnapshot, !FileManager.default.fileExists(atPath: snapshot + "/manifest.json") {
            // The run ended (diverged, or DARTS-ES stopped it) before the step its forks start from.
            let record = try? RunRecord(metricsFile: layout.metrics(task.run))
            finish(task.run, RunOutcome(exitStatus: 0, failure: record?.failure, seconds: seconds))
            failed[task.id] = "\(task.run.label) ended before step \(snapshot.split(separator: "-").last ?? "")"
            return
        }
        succeeded.insert(task.id)
        if task.isFinal { finish(task.run, RunOutcome(exitStatus: 0, failure: nil, seconds: seconds)) }
    }

    private func complete(_ task: Task, failure: String, seconds: Double, status: Int32 = -1) {
        failed[task.id] = failure
        finish(task.run, RunOutcome(exitStatus: status, failure: failure, seconds: seconds))
    }

    /// Tasks that can never start (what they fork from failed) end as failures.
    private func dropBlockedTasks() {
        while let index = tasks.firstIndex(where: { $0.after.map { failed[$0] != nil } ?? false }) {
            let task = tasks.remove(at: index)
            let reason = failed[task.after!]!
            failed[task.id] = reason
            if !reason.hasPrefix("interrupted"), RunOutcome.read(layout.result(task.run)) == nil {
                finish(task.run, RunOutcome(exitStatus: -1, failure: "not run: \(reason)", seconds: 0))
            }
        }
    }

    private func finish(_ run: ExperimentPlan.Run, _ outcome: RunOutcome) {
        let record = try? RunRecord(metricsFile: layout.metrics(run))
        do {
            try record?.write(layout.record(run))
            try outcome.write(layout.result(run))
        } catch { log("dartscope: cannot record \(run.label): \(error)") }
        finishedRuns += 1
        finishedNow += 1
        let elapsed = Date().timeIntervalSince(started)
        let eta = elapsed / Double(finishedNow) * Double(totalRuns - finishedRuns)
        let summary = record.map { RunSummary($0) }
        let regret = summary?.returnedRegret.map { String(format: " regret %.3f", $0) } ?? ""
        let result: String = outcome.failure.map { "FAILED: \($0)" } ?? "\(summary?.epochs ?? 0) epochs\(regret)"
        let bar = Tabulate.progressBar(done: finishedRuns, of: totalRuns)
        log("\(bar) \(finishedRuns)/\(totalRuns)  \(run.variant.name) seed \(run.seed)  \(result)  \(formatDuration(outcome.seconds))  ETA \(formatDuration(eta))")
    }

    private func lastErrorLine(_ logPath: String) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").map(String.init)
        return lines.last { $0.contains("Error") || $0.contains("error") } ?? lines.last ?? "no output"
    }
}

