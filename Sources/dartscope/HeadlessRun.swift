import ArgumentParser
import DartsEngine
import Foundation

/// Runs a search without the dashboard, on this thread: progress on stderr,
/// metrics to JSONL, a summary at the end.
struct HeadlessRun {
    var engine: SearchEngine
    var replay: JournalReplay?
    var stepLimit: Int?
    /// Stop (after the current step) when the process that launched this one
    /// is gone: a fork's counterfactual must not outlive its dashboard, even
    /// one killed without the chance to stop it.
    var stopsWithParent = false

    func run() throws {
        let progress = ProgressLine(engine: engine)
        engine.addSink(progress)
        let runner = SearchRun(engine: engine, replay: replay, stepLimit: stepLimit)
        if stopsWithParent { Self.watchParent(of: runner) }
        do { try runner.runToCompletion() } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        let genotype = engine.supernet.genotype()
        print(genotype.description)
        log("dartscope: normal-cell skip connections: \(genotype.normalSkipCount)")
        summarise()
        if let reason = engine.divergence {
            // Last, so that the line a launcher reads as the error (an experiment's table) is this one.
            log("dartscope: run diverged: \(reason) (exit status \(SearchEngine.divergedExitCode); no snapshot after the divergence)")
            throw ExitCode(SearchEngine.divergedExitCode)
        }
    }

    /// Sends `stop` once this process is re-parented (its launcher died).
    static func watchParent(of runner: SearchRun) {
        let launcher = getppid()
        let thread = Thread {
            while getppid() == launcher { Thread.sleep(forTimeInterval: 1) }
            runner.send(.stop)
        }
        thread.name = "dartscope-parent-watch"
        thread.start()
    }

    /// The end-of-run report: DARTS-ES verdict and the eigenvalue trajectory.
    private func summarise() {
        let records = engine.earlyStopping.records
        if let first = records.first, let last = records.last {
            let values = records.map(\.eigenvalue)
            log(String(format: "dartscope: dominant eigenvalue: epoch %d %.4g → epoch %d %.4g (min %.4g, max %.4g over %d epochs)",
                       first.epoch + 1, first.eigenvalue, last.epoch + 1, last.eigenvalue, values.min()!, values.max()!, values.count))
        }
        if let verdict = engine.esVerdict {
            let what = engine.stoppedEarly ? "stopped the search" : (engine.config.esAction == .ada ? "adapted the weight decay" : "would have stopped the search")
            log("dartscope: DARTS-ES \(what) at epoch \(verdict.stopEpoch + 1) (local average ×\(String(format: "%.2f", verdict.currentAverage / verdict.previousAverage)) at epoch \(verdict.epoch + 1)); genotype then: \(verdict.genotype)")
        } else if !records.isEmpty {
            log("dartscope: DARTS-ES did not trigger (factor \(formatReal(engine.config.esFactor)), window \(engine.config.esWindow), delta \(engine.config.esDelta), start epoch \(engine.config.esStartEpoch))")
        }
        if let standing = engine.tabularStanding() {
            let accuracy = standing.accuracy.map { String(format: "%.4f", $0) } ?? "not in the table"
            let regret = standing.accuracy.map { String(format: ", regret %.4f", standing.best.validAccuracy - $0) } ?? ""
            log("dartscope: tabular accuracy of \(standing.architecture): \(accuracy) (best \(standing.best.architecture): \(String(format: "%.4f", standing.best.validAccuracy))\(regret))")
        }
    }
}

func log(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// The one-line progress report on stderr: redrawn in place on a terminal,
/// a line every few seconds otherwise.
final class ProgressLine: MetricsSink {
    private unowned let engine: SearchEngine
    private let interactive = isatty(STDERR_FILENO) == 1
    private var lastPrint = Date.distantPast
    private var recentSteps: [(time: Double, step: Int)] = []
    private var lastLoss = Double.nan, lastAccuracy = Double.nan, lastEigenvalue = Double.nan

    init(engine: SearchEngine) { self.engine = engine }

    func record(_ event: TelemetryEvent) {
        switch event.payload {
        case .step(let step):
            lastLoss = step.trainLoss
            lastAccuracy = step.trainAccuracy
            if let last = recentSteps.last, event.step <= last.step { recentSteps.removeAll() }  // a rollback
            recentSteps.append((event.wallTime, event.step))
            if recentSteps.count > 50 { recentSteps.removeFirst() }
            let now = Date()
            if now.timeIntervalSince(lastPrint) >= (interactive ? 0.2 : 5) {
                lastPrint = now
                draw()
            }
        case .hessian(let hessian):
            if hessian.atEpochEnd { lastEigenvalue = hessian.eigenvalue }
        case .epoch(let epoch):
            clear()
            log(String(format: "epoch %d: train loss %.4f acc %.4f | valid loss %.4f acc %.4f | skip %d | λmax %.4g | %.2f steps/s",
                       event.epoch + 1, epoch.trainLoss, epoch.trainAccuracy, epoch.validLoss, epoch.validAccuracy, epoch.skipCount,
                       lastEigenvalue, stepsPerSecond))
        case .control, .snapshot, .diverged, .error, .earlyStop, .adaptation:
            clear()
            log("dartscope: \(event.type) at step \(event.step): " + MetricEvent(event).fields.sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value.plainText)" }.joined(separator: " "))
        default:
            break
        }
    }

    var stepsPerSecond: Double {
        guard let first = recentSteps.first, let last = recentSteps.last, last.time > first.time else { return .nan }
        return Double(last.step - first.step) / (last.time - first.time)
    }

    private func draw() {
        let remaining = Double(engine.totalSteps - engine.step) / stepsPerSecond
        let line = String(format: "epoch %d/%d step %d/%d loss %.4f acc %.3f | %.2f steps/s ETA %@",
                          engine.epoch + 1, engine.config.epochs, engine.step, engine.totalSteps, lastLoss, lastAccuracy,
                          stepsPerSecond, formatDuration(remaining))
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else {
            log(line)
        }
    }

    private func clear() {
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    func finish() { clear() }
}
